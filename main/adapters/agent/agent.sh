#!/bin/sh
# understudy host agent: applies a swap plan with a journal, so a crash anywhere ends exactly old or new.
# Two paths, one plan/journal/staging format: 'apply' and 'recover' run as perl (agent.pl, appended to
# this file when it is installed) where the host has a perl with POSIX, Fcntl and Errno — every Debian
# family host, perl-base being Essential — and as the POSIX sh below elsewhere (busybox hosts):
# UNDERSTUDY_AGENT_PATH=sh|perl forces one. The sh path needs ln, mv, rm, mkdir, chmod, chown, touch
# (-d @SEC.NS), sync, awk, and setfattr only when the plan sets xattrs. Hosts need no Node.
#
#   agent.sh apply   ROOT WORK TXID [--unit]   prepare staged objects, journal, rename in, commit
#   agent.sh recover ROOT WORK [--unit]        finish or undo every interrupted transaction in WORK
#   agent.sh path                              perl | sh: the path 'apply' takes on this host
#   agent.sh status  WORK TXID                 prepared | planned | committing | committed | aborted
#   agent.sh records WORK                      every tx's record head and journal state ('@@ TXID/FILE' heads)
#   agent.sh unit-install|unit-remove WORK TXID  the boot-time recovery unit (the perl path calls these)
#
# WORK/tx/TXID/plan is written by the orchestrator (format: swap-plan-format.ts); WORK/tx/TXID/journal is
# append-only: 'planned' (plan durable, nothing renamed yet), 'begin TS', 'done N'..., 'commit TS';
# or 'undo-begin', 'aborted TS'. The perl path writes 'commit TS async' at once after its last step and
# makes the renames durable after it ('synced'): a recovery that finds such a commit without 'synced'
# runs the forward steps again (each tells from the filesystem whether it ran) before dropping the staging. Each area (one per filesystem) holds the staged new objects, already
# carrying their final metadata — stage/N/NAME (named like the target, so this path renames a directory's
# worth with one mv) or, when the plan says 'layout flat' (hosts on the perl path), stage/N — and undo/N
# (old objects, hardlinked or moved there, never unlinked).
#
# Recovery policy: committed -> nothing to do; not planned -> nothing was renamed, drop the staging;
# planned and every step done -> commit (roll forward); otherwise -> undo every step in reverse (roll
# back). Every step, forward and undo, can tell from the filesystem whether it already ran.
perl_path() { # 0 when apply and recover run as perl here
  case ${UNDERSTUDY_AGENT_PATH:-auto} in
    sh) return 1 ;;
    *) if command -v perl >/dev/null 2>&1 \
         && perl -e 'use POSIX (); use Fcntl (); use Errno (); use Config (); use IO::Handle (); 1' >/dev/null 2>&1; then return 0; fi
       [ "${UNDERSTUDY_AGENT_PATH:-auto}" = auto ] || { echo "understudy-agent: no usable perl on this host" >&2; exit 2; }
       return 1 ;;
  esac
}
case ${1:-} in
  apply | recover) if perl_path; then exec perl -x -- "$0" "$@"; fi ;;
  path) if perl_path; then echo perl; else echo sh; fi; exit 0 ;; # which path this host's apply takes
esac
set -u

K=0
step() { # fault injection for tests: UNDERSTUDY_AGENT_KILL_AT=N kills the agent at its Nth mutation;
  # UNDERSTUDY_AGENT_PAUSE_AT=N (or 'window': the first mutation after the plan is journaled) leaves a
  # marker and waits there (a test then cuts the host's power). At step N nothing is synced first, so
  # the cut loses whatever the guest had not written back yet, as a real one would.
  # UNDERSTUDY_AGENT_TRACE=FILE appends 'N prep|window' per step (where a test's fault can land)
  K=$((K + 1))
  if [ -n "${UNDERSTUDY_AGENT_TRACE:-}" ]; then
    if [ -f "$J" ] && grep -q '^planned' "$J"; then echo "$K window"; else echo "$K prep"; fi >> "$UNDERSTUDY_AGENT_TRACE"
  fi
  if [ "${UNDERSTUDY_AGENT_KILL_AT:-0}" = "$K" ]; then kill -9 $$; fi
  case ${UNDERSTUDY_AGENT_PAUSE_AT:-0} in
    "$K") : > "$WORK/.paused"; sleep 900 ;;
    window) if [ -f "$J" ] && grep -q '^planned' "$J"; then : > "$WORK/.paused"; sync; sleep 900; fi ;;
  esac
}
die() { echo "understudy-agent: $*" >&2; exit 2; }
now() { date +%s.%N 2>/dev/null || date +%s; }
exists() { [ -e "$1" ] || [ -L "$1" ]; }
realdir() { [ -d "$1" ] && [ ! -L "$1" ]; }
dec() { # decode a plan field (\0ooo escapes) into D, keeping trailing newlines
  case $1 in *\\*) D=$(printf '%bx' "$1"); D=${D%x} ;; *) D=$1 ;; esac
}
in_tree() { # every directory above $1, below the root, is a real one (lstat): not reached through a symlink
  _d=${1%/*}
  while [ "${#_d}" -gt "${#R}" ]; do [ -L "$_d" ] && return 1; _d=${_d%/*}; done
  return 0
}
same_inode() { # lstat-based, unlike test -ef (which follows symlinks)
  a=$(ls -di -- "$1" 2>/dev/null) && b=$(ls -di -- "$2" 2>/dev/null) || return 1
  set -- $a; a=$1; set -- $b; [ "$a" = "$1" ]
}
mvx() { # rename $1 over $2; two names of one inode already are the result (mv refuses them)
  mv -f -T "$1" "$2" 2>"$TXD/mv.err" && return 0
  if same_inode "$1" "$2"; then rm -f "$1"; return; fi
  cat "$TXD/mv.err" >&2; return 1
}
jr() { echo "$*" >> "$J" || die "cannot write journal $J"; }

apply_meta() { # PATH MODE UID GID MTIME XSET XRM ('-' = leave as is)
  exists "$1" || return 0
  if [ "$3" != - ]; then chown -h "$3:$4" "$1" || return 1; fi # before chmod/caps: chown clears both
  if [ "$2" != - ] && [ ! -L "$1" ]; then chmod "$2" "$1" || return 1; fi
  if [ "$7" != - ]; then
    oifs=$IFS; IFS=,; set -f
    for x in $7; do dec "$x"; setfattr -h -x "$D" "$1" 2>/dev/null; done
    IFS=$oifs; set +f
  fi
  if [ "$6" != - ]; then
    oifs=$IFS; IFS=,; set -f
    for x in $6; do
      dec "${x%%=0s*}"
      setfattr -h -n "$D" -v "0s${x#*=0s}" "$1" || { IFS=$oifs; set +f; return 1; }
    done
    IFS=$oifs; set +f
  fi
  if [ "$5" != - ]; then $TOUCH -h -c -d "@$5" "$1" 2>/dev/null || $TOUCH -h -c -d "@${5%.*}" "$1" || return 1; fi
  return 0
}

load_areas() { # and the staging layout: 'flat' (stage/N, the perl path's) or per-op directories (stage/N/NAME)
  NOPS=$(sed -n '1s/^understudy-plan 1 [^ ]* [^ ]* \([0-9][0-9]*\)$/\1/p' "$PLAN")
  [ -n "$NOPS" ] || die "not a plan: $PLAN"
  plan_ends "$PLAN" || die "incomplete plan: $PLAN (its writer stopped before the end)"
  LAYOUT=dirs
  grep -E '^(area|layout) ' "$PLAN" > "$TXD/head" || die "no areas in $PLAN"
  while read -r tag i a; do
    if [ "$tag" = layout ]; then LAYOUT=$i; continue; fi
    case $i in *[!0-9]*|'') die "bad area index" ;; esac
    dec "$a"; eval "AREA_$i=\$D"
  done < "$TXD/head"
}
area() { # sets A to area $1's directory ('-': the op stages nothing)
  case $1 in -) A= ; return 0 ;; *[!0-9]*|'') die "bad area $1" ;; esac
  eval "A=\$AREA_$1"
}

slots() { # N PATHFIELD: sets P (target), S (staged object, named like the target), U (undo slot)
  dec "$2"; P=$R$D; U=$A/undo/$1
  if [ "$LAYOUT" = flat ]; then S=$A/stage/$1; else S=$A/stage/$1/${D##*/}; fi
}

prep() { # N PATH TYPE ARG MODE UID GID MTIME XSET XRM: the staged object for op N, metadata included,
  # and the old object hardlinked into the undo area (or a marker that there was none) — all before the
  # first rename, so the swap window holds renames only
  slots "$1" "$2"; n=$1; ty=$3; arg=$4; shift 4
  case $ty in
    file) exists "$S" || { [ -e "$A/stage/$n/.content" ] && mv -f "$A/stage/$n/.content" "$S"; } \
      || { echo "staged object $n is missing" >&2; return 1; } ;;
    ln) exists "$S" || { dec "$arg"; step; ln "$D" "$S" || return 1; }; set -- - - - - - - ;;
    cp) exists "$S" || { dec "$arg"; step; cp -p "$R$D" "$A/stage/$n/.tmp" && mv -f "$A/stage/$n/.tmp" "$S" || return 1; } ;;
    symlink) exists "$S" || { dec "$arg"; step; ln -s -- "$D" "$S" || return 1; } ;;
    fifo) exists "$S" || { step; mkfifo "$S" || return 1; } ;;
    c:*|b:*) exists "$S" || { t=${ty%%:*}; mm=${ty#*:}
      step; mknod "$S" "$t" "${mm%%:*}" "${mm#*:}" || return 1; } ;;
    *) die "unknown staged type $ty" ;;
  esac
  step; apply_meta "$S" "$@" || return 1
  if ! exists "$U" && [ ! -e "$U.none" ]; then
    # (below a symlink that an earlier step replaces by a directory, the name is not in the tree yet)
    if ! exists "$P" || ! in_tree "$P"; then step; : > "$U.none" || return 1
    elif ! realdir "$P"; then step; ln "$P" "$U" || return 1
    fi # a directory here goes away by an earlier step of the plan: the put decides at its turn
  fi
}

# forward and undo of one op: ARGS = the op line's fields after 'op'
fwd() {
  n=$1; kind=$2; area "$3"; slots "$1" "$4"; shift 4
  case $kind in
    put|link)
      if [ "$kind" = link ]; then
        dec "$1"; L=$R$D
        same_inode "$P" "$L" && return 0
        exists "$S" || { [ -d "${S%/*}" ] || mkdir -p "${S%/*}"; step; ln "$L" "$S" || return 1; }
      fi
      exists "$S" || return 0
      if ! exists "$U" && [ ! -e "$U.none" ]; then
        if exists "$P"; then
          realdir "$P" && { echo "$P is a directory" >&2; return 1; }
          step; ln "$P" "$U" || return 1
        else
          step; : > "$U.none" || return 1
        fi
      fi
      step; mvx "$S" "$P" ;;
    del)
      exists "$P" || return 0
      if exists "$U"; then
        # a file linked into its undo slot before the window: only its name goes; anything else at the
        # name is what a later step put there (this one ran: its object is in the slot)
        if ! realdir "$P" && same_inode "$P" "$U"; then step; rm -f "$P"; fi
        return
      fi
      step; mv -f -T "$P" "$U" ;;
    mkdir)
      if ! realdir "$P"; then
        if exists "$P"; then step; mv -f -T "$P" "$U" || return 1; fi
        step; : > "$U.mk" || return 1
        step; mkdir "$P" || return 1
      fi
      [ -e "$U.mk" ] || return 0
      step; apply_meta "$P" "$@" ;;
    meta) step; apply_meta "$P" "$1" "$2" "$3" "$4" "$5" "$6" ;;
    *) die "unknown op $kind" ;;
  esac
}

undo() {
  n=$1; kind=$2; area "$3"; slots "$1" "$4"; shift 4
  case $kind in
    put|link|del)
      if exists "$U"; then
        step; mvx "$U" "$P" || return 1
      elif [ -e "$U.none" ]; then
        # below a symlink its forward step never ran (the directory that replaces the link comes first,
        # and is undone after): that name is the link target's, not ours
        if in_tree "$P"; then step; rm -f "$P" || return 1; fi
        rm -f "$U.none"
      fi ;;
    mkdir)
      if [ -e "$U.mk" ]; then
        if realdir "$P"; then step; rmdir "$P" || return 1; fi
        rm -f "$U.mk"
      fi
      if exists "$U"; then step; mv -f -T "$U" "$P" || return 1; fi ;;
    meta) [ "$7$8$9${10}${11}${12}" = ------ ] && return 0
      step; apply_meta "$P" "$7" "$8" "$9" "${10}" "${11}" "${12}" ;;
  esac
}

ops() { sed -n 's/^op //p' "$PLAN"; }

run_undo() {
  grep -q '^undo-begin' "$J" || jr undo-begin
  ops > "$TXD/fwd-order" && sed -n '1!G;h;$p' "$TXD/fwd-order" > "$TXD/undo-order" || return 1
  while read -r line; do
    # shellcheck disable=SC2086
    set -f; set -- $line; set +f
    undo "$@" || { echo "undo of step $1 failed" >&2; return 1; }
  done < "$TXD/undo-order"
  # renames above moved directory times again: put every directory's old time back, deepest first
  while read -r line; do
    set -f; set -- $line; set +f
    if [ "$2" = meta ]; then undo "$@" || return 1; fi
  done < "$TXD/fwd-order"
  sync; jr "aborted $(now)"; sync
  cleanup undo
  echo "result aborted"
}

cleanup() { # remove staging (and undo leftovers after an abort), the boot unit, the lock
  if [ "$1" = commit ]; then
    # objects hardlinked in from an earlier transaction's undo area are back in the tree: drop the
    # extra links (a rollback of this transaction uses its own undo area)
    # (one rm for all of them: a process per path would cost a rollback as much as its renames)
    sed -n 's/^prep [0-9]* [0-9]* [^ ]* ln \([^ ]*\) .*/\1/p' "$PLAN" > "$TXD/ln-sources"
    while read -r src; do dec "$src"; printf '%s\0' "$D"; done < "$TXD/ln-sources" > "$TXD/ln-sources0"
    xargs -0 rm -f -- < "$TXD/ln-sources0"
    # an undo slot whose inode another name of the tree still holds (a link group that lost a member)
    # would show in that file's link count: the record says which name, a rollback re-links to it
    sed -n 's/^rejoin //p' "$PLAN" > "$TXD/rejoin"
    while read -r n ai q; do
      area "$ai"; dec "$q"
      if same_inode "$A/undo/$n" "$R$D"; then rm -f "$A/undo/$n"; fi
    done < "$TXD/rejoin"
  fi
  for i in $(sed -n 's/^area \([0-9]*\) .*/\1/p' "$PLAN"); do
    area "$i"; rm -rf "$A/stage"
    [ "$1" = undo ] && rm -rf "$A/undo"
  done
  unit_remove
}

mtime_of() { # SEC.NSEC where stat can say it (GNU), SEC otherwise (busybox)
  _m=$(stat -c %.9Y "$1" 2>/dev/null) || _m=
  case $_m in ''|*[!0-9.]*) _m=$(stat -c %Y "$1") ;; esac
  echo "$_m"
}

unit_install() {
  [ "$UNIT" = 1 ] && [ "$R" = "" ] && [ -d /etc/systemd/system ] || return 0
  # the unit is ours for the swap only: note the directories' times (and whether the wants dir existed)
  # so unit_remove leaves /etc/systemd/system exactly as the host had it
  if [ ! -f "$TXD/unit-dirs" ]; then
    { echo "S $(mtime_of /etc/systemd/system)"
      if [ -d /etc/systemd/system/sysinit.target.wants ]; then echo "W $(mtime_of /etc/systemd/system/sysinit.target.wants)"; else echo "W -"; fi
    } > "$TXD/unit-dirs.tmp" && mv "$TXD/unit-dirs.tmp" "$TXD/unit-dirs"
  fi
  cat > /etc/systemd/system/understudy-recover.service <<EOF
[Unit]
Description=understudy: finish or undo an interrupted swap
DefaultDependencies=no
After=local-fs.target
Before=sysinit.target
[Service]
Type=oneshot
ExecStart=/bin/sh $WORK/agent.sh recover / $WORK --unit
[Install]
WantedBy=sysinit.target
EOF
  mkdir -p /etc/systemd/system/sysinit.target.wants
  ln -sf ../understudy-recover.service /etc/systemd/system/sysinit.target.wants/understudy-recover.service
  sync
}
unit_remove() {
  [ "$UNIT" = 1 ] && [ "$R" = "" ] || return 0
  rm -f /etc/systemd/system/sysinit.target.wants/understudy-recover.service /etc/systemd/system/understudy-recover.service
  [ -f "$TXD/unit-dirs" ] || return 0
  _w=$(sed -n 's/^W //p' "$TXD/unit-dirs"); _s=$(sed -n 's/^S //p' "$TXD/unit-dirs")
  if [ "$_w" = - ]; then rmdir /etc/systemd/system/sysinit.target.wants 2>/dev/null || true
  elif [ -n "$_w" ]; then $TOUCH -h -c -d "@$_w" /etc/systemd/system/sysinit.target.wants 2>/dev/null || true; fi
  [ -z "$_s" ] || $TOUCH -h -c -d "@$_s" /etc/systemd/system 2>/dev/null || true
}

tx_state() { # prints the transaction's state from its journal
  if [ ! -f "$J" ]; then echo prepared
  elif grep -q '^commit' "$J"; then echo committed
  elif grep -q '^aborted' "$J"; then echo aborted
  elif grep -q '^planned' "$J"; then echo planned
  else echo prepared; fi
}

pick_touch() { # a touch that takes @SEC.NSEC (GNU); busybox's applet keeps whole seconds only
  TOUCH=touch
  : > "$WORK/.touch-test" 2>/dev/null || return 0
  for t in touch /usr/bin/touch /bin/touch; do
    if $t -h -c -d @1.000000001 "$WORK/.touch-test" 2>/dev/null; then TOUCH=$t; break; fi
  done
  [ "$TOUCH" != touch ] || $TOUCH -h -c -d @1.000000001 "$WORK/.touch-test" 2>/dev/null \
    || echo "understudy-agent: no nanosecond touch here; mtimes kept to the second" >&2
  rm -f "$WORK/.touch-test"
}

open_tx() { # WORK TXID
  WORK=$1; TXD=$WORK/tx/$2; PLAN=$TXD/plan; J=$TXD/journal
  [ -f "$PLAN" ] || die "no plan in $TXD"
  load_areas
}

lock() {
  if ! mkdir "$WORK/lock" 2>/dev/null; then
    pid=$(cat "$WORK/lock/pid" 2>/dev/null)
    if [ -n "$pid" ] && [ "$pid" != $$ ] && kill -0 "$pid" 2>/dev/null; then echo "busy: agent $pid runs" >&2; exit 75; fi
  fi
  echo $$ > "$WORK/lock/pid"
}
unlock() { rm -rf "$WORK/lock"; }

flush() { # renames the batch of staged objects into BDIR (each rename atomic), then marks them done
  [ -n "$BNS" ] || return 0
  step
  if ! xargs -0 mv -f -t "$BDIR" < "$TXD/batch" 2>"$TXD/mv.err"; then
    for n in $BNS; do # one by one: mvx tells "already there" (same inode) from a real failure
      line=$(sed -n "s/^op $n //p" "$PLAN"); set -f; set -- $line; set +f
      fwd "$@" || { echo "step $n (put) failed; rolling back" >&2; return 1; }
    done
  fi
  printf 'done %s\n' $BNS >> "$J"
  BDIR=; BNS=; : > "$TXD/batch"
}

stage_dirs() { # every staged object's directory (prep lines and links), made in one process, not one each
  [ "$LAYOUT" != flat ] || return 0
  while read -r tag n f3 f4 rest; do
    case $tag:$f3 in prep:*) area "$f3" ;; op:link) area "$f4" ;; *) continue ;; esac
    printf '%s\0' "$A/stage/$n"
  done < "$PLAN" > "$TXD/stage-dirs" || return 1
  [ ! -s "$TXD/stage-dirs" ] || xargs -0 mkdir -p -- < "$TXD/stage-dirs"
}

flush_dels() { # removes the batch of deleted files (each already hardlinked into its undo slot), marks them done
  [ -n "$DNS" ] || return 0
  step
  xargs -0 rm -f -- < "$TXD/dbatch" || { echo "deleting steps$DNS failed; rolling back" >&2; return 1; }
  printf 'done %s\n' $DNS >> "$J"
  DNS=; : > "$TXD/dbatch"
}
flush_all() { flush && flush_dels; }

prelink_dels() { # a file the plan deletes gets its undo link now: inside the window its delete is an rm,
  # batched (a directory still moves into its slot at its turn: it cannot be hardlinked)
  ops > "$TXD/fwd-order" || return 1
  while read -r n kind ai path rest; do
    [ "$kind" = del ] || continue
    area "$ai"; slots "$n" "$path"
    if exists "$P" && ! realdir "$P" && ! exists "$U"; then step; ln "$P" "$U" || return 1; fi
  done < "$TXD/fwd-order"
}

do_apply() {
  case $(tx_state) in committed) echo "result committed"; return 0 ;; aborted) echo "result aborted"; return 3 ;; esac
  if ! grep -q '^planned' "$J" 2>/dev/null; then
    echo "prep-start $(now)"
    stage_dirs || { echo "cannot make the staging directories" >&2; cleanup undo; echo "result aborted"; return 3; }
    while read -r tag n ai path ty arg rest; do
      [ "$tag" = prep ] || continue
      area "$ai"
      set -f; set -- $rest; set +f
      prep "$n" "$path" "$ty" "$arg" "$@" || { echo "staging step $n failed" >&2; cleanup undo; echo "result aborted"; return 3; }
    done < "$PLAN"
    prelink_dels || { echo "linking a deleted file into the undo area failed" >&2; cleanup undo; echo "result aborted"; return 3; }
    unit_install
    sync # the staged objects and the plan are durable before the journal says so (one barrier)
    jr planned; sync
  fi
  grep -q '^undo-begin' "$J" && { run_undo || return 7; return 3; }
  jr "begin $(now)"
  ops > "$TXD/fwd-order"
  BDIR=; BNS=; : > "$TXD/batch"
  DNS=; : > "$TXD/dbatch"
  while read -r line; do
    set -f; set -- $line; set +f
    if [ "$2" = put ]; then
      area "$3"; slots "$1" "$4"
      if ! exists "$S"; then flush_all || { run_undo || return 7; return 3; }; jr "done $1"; continue; fi
      if [ "$LAYOUT" != flat ] && { exists "$U" || [ -e "$U.none" ]; }; then # prepared: joins one mv per target directory
        flush_dels || { run_undo || return 7; return 3; }
        [ "${P%/*}" = "$BDIR" ] || flush || { run_undo || return 7; return 3; }
        BDIR=${P%/*}; BNS="$BNS $1"; printf '%s\0' "$S" >> "$TXD/batch"
        continue
      fi
    elif [ "$2" = del ]; then
      area "$3"; slots "$1" "$4"
      if exists "$U" && exists "$P" && ! realdir "$P"; then # linked into its undo slot before the window
        flush || { run_undo || return 7; return 3; }
        DNS="$DNS $1"; printf '%s\0' "$P" >> "$TXD/dbatch"
        continue
      fi
    fi
    flush_all || { run_undo || return 7; return 3; }
    if ! fwd "$@"; then
      echo "step $1 ($2) failed; rolling back" >&2
      run_undo || return 7
      return 3
    fi
    jr "done $1"
  done < "$TXD/fwd-order"
  flush_all || { run_undo || return 7; return 3; }
  step; sync; jr "commit $(now)"; sync
  cleanup commit
  echo "result committed"
  echo "steps $K"
}

unsynced() { # a commit written before the barrier that makes its renames durable ('async'), not yet followed by it
  grep -q '^commit .* async$' "$J" && ! grep -q '^synced' "$J"
}
redo_forward() { # every forward step again, in order: each tells from the filesystem whether it ran
  ops > "$TXD/fwd-order" || return 1
  while read -r line; do
    set -f; set -- $line; set +f
    fwd "$@" || { echo "step $1 ($2) failed rolling forward" >&2; return 1; }
  done < "$TXD/fwd-order"
}

# A plan without its last line was cut off while it was written (older orchestrators could leave one):
# with no journal, no agent ever ran on it and the tree is as it was; it is closed as aborted.
plan_ends() { [ "$(tail -n 1 "$1" 2>/dev/null)" = end ]; }
discarded() { jr planned; jr undo-begin; jr "aborted $(now)"; echo "recovered $1 discarded"; } # TXID, with J set

do_recover() {
  for d in "$WORK"/tx/*/; do
    [ -f "$d/plan" ] || continue
    id=$(basename "$d")
    if ! plan_ends "$d/plan"; then
      if [ ! -e "$d/journal" ]; then
        J=${d%/}/journal; discarded "$id"; continue
      fi
      if grep -q '^aborted' "$d/journal"; then continue; fi # discarded before
    fi
    open_tx "$WORK" "$id"
    case $(tx_state) in
      committed)
        area 0
        if unsynced; then # committed before its barrier (the perl path): renames a crash lost are made again
          if [ -d "$A/stage" ]; then redo_forward || { echo "recovered $id needs-recovery"; return 7; }; fi
          sync; jr synced; cleanup commit; echo "recovered $id committed"
        elif [ -d "$A/stage" ]; then cleanup commit # finish a cleanup that a crash cut short
        fi
        continue ;;
      aborted) continue ;;
      prepared) cleanup undo; rm -f "$J"; discarded "$id" ;;
      planned)
        last=$(sed -n 's/^done \([0-9]*\)$/\1/p' "$J" | tail -n 1)
        if ! grep -q '^undo-begin' "$J" && [ "${last:-0}" = "$NOPS" ]; then
          sync; jr "commit $(now)"; sync; cleanup commit; echo "recovered $id committed"
        else
          run_undo >/dev/null || { echo "recovered $id needs-recovery"; return 7; }
          echo "recovered $id rolled-back"
        fi ;;
    esac
  done
  return 0
}

[ $# -ge 2 ] || die "usage: agent.sh apply|recover|status ..."
MODE=$1; shift
UNIT=0
case $MODE in
  status) # 'committing': decided, its barrier and cleanup still owed (recover finishes it)
    WORK=$1; TXD=$WORK/tx/$2; J=$TXD/journal; st=$(tx_state)
    if [ "$st" = committed ] && unsynced; then st=committing; fi
    echo "$st"; exit 0 ;;
  records) # one read for a rollback's bookkeeping (over ssh: one round trip, not two per transaction):
    # each record's head (the whole record where there is none) and its journal's state lines, not the
    # per-path parts nor the 'done' lines (megabytes each after a release upgrade)
    cd "$1/tx" 2>/dev/null || exit 0
    set --
    for d in */; do
      d=${d%/}
      if [ -f "$d/record-head.json" ]; then set -- "$@" "$d/record-head.json"; elif [ -f "$d/record.json" ]; then set -- "$@" "$d/record.json"; fi
      [ -f "$d/journal" ] && set -- "$@" "$d/journal"
    done
    [ $# -eq 0 ] || exec awk 'FNR == 1 { print "@@ " FILENAME } !/^done / { print }' "$@"
    exit 0 ;;
  apply)
    [ $# -ge 3 ] || die "usage: agent.sh apply ROOT WORK TXID [--unit]"
    [ "${4:-}" = --unit ] && UNIT=1
    R=${1%/}; open_tx "$2" "$3"; lock; pick_touch; echo "path sh"; do_apply; rc=$?; unlock; exit $rc ;;
  recover)
    [ "${3:-}" = --unit ] && UNIT=1
    R=${1%/}; WORK=$2; lock; pick_touch; do_recover; rc=$?; unlock; exit $rc ;;
  unit-install | unit-remove) # for the perl path, on a real host's root (one copy of the unit's text)
    R=; UNIT=1; WORK=$1; TXD=$WORK/tx/$2; pick_touch
    if [ "$MODE" = unit-install ]; then unit_install; else unit_remove; fi; exit 0 ;;
  *) die "unknown mode $MODE" ;;
esac
