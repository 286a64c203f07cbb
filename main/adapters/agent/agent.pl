#!/usr/bin/perl
# understudy host agent, perl path. agent.sh hands 'apply' and 'recover' to this program when the host has
# a usable perl (see its top). Same plan, journal, staging layout, steps and recovery policy as the sh
# path, so either can recover what the other began; the difference is that every rename, link and
# metadata change here is a system call of this one process, not a process or two per path.
#
# Only what Debian's Essential perl-base ships: strict, warnings, POSIX, Fcntl, Errno, Config, IO (no other
# XS module, nothing from perl-modules: no File::Copy, Time::HiRes or MIME::Base64). Times with
# nanoseconds and xattrs go through syscall(2) where this perl's architecture has known syscall numbers
# (x86_64 and the asm-generic 64-bit ones: aarch64, riscv64, loongarch64) and a self-test passes;
# elsewhere through `touch` and `setfattr` as the sh path does (a process per path, for those only).
#
# The journal's 'done N' lines are written in batches (one write per BATCH steps): a step whose line was
# lost with a crash is undone by recovery, and every undo tells from the filesystem whether it has
# anything to put back.
use strict;
use warnings;
use POSIX ();
use Fcntl qw(O_RDONLY O_WRONLY O_APPEND O_CREAT);
use IO::Handle ();
use Errno (); # loaded now: nothing is read from disk once renames begin (a release swaps perl itself)
use Config;

my $BATCH = 1024;
my ($R, $WORK, $TXD, $PLAN, $J, $UNIT, $NOPS, $FLAT) = ('', '', '', '', '', 0, 0, 0);
my (@AREA, @PREP, @OPS, @REJOIN, @FAST);
my ($JFH, @DONE, %JHAS);
my ($K, $PLANNED) = (0, 0);
my $KILL_AT = $ENV{UNDERSTUDY_AGENT_KILL_AT} // '0';
my $PAUSE_AT = $ENV{UNDERSTUDY_AGENT_PAUSE_AT} // '0';
my $TRACE = $ENV{UNDERSTUDY_AGENT_TRACE} // '';

sub die_ { print STDERR "understudy-agent: @_\n"; exit 2 }
sub fail { print STDERR "@_\n"; return 0 }

# fault injection, as in agent.sh: the Kth mutation is where KILL_AT kills (-9) and PAUSE_AT waits
my $HOOKED = $TRACE ne '' || $KILL_AT ne '0' || $PAUSE_AT ne '0';
sub step {
  $K++;
  return unless $HOOKED;
  if ($TRACE ne '') {
    open(my $t, '>>', $TRACE) or die_("cannot write $TRACE");
    print $t "$K ", ($PLANNED ? 'window' : 'prep'), "\n";
    close $t;
  }
  kill 'KILL', $$ if $KILL_AT eq $K;
  if ($PAUSE_AT eq $K || ($PAUSE_AT eq 'window' && $PLANNED)) {
    touch_new("$WORK/.paused");
    system('sync') if $PAUSE_AT eq 'window';
    sleep 900;
  }
}

sub dec { my $s = $_[0]; $s =~ s/\\0([0-7]{3})/chr(oct $1)/ge; return $s }
sub ex { my @s = lstat $_[0]; return scalar @s }
sub realdir { my @s = lstat $_[0]; return @s && -d _ }
sub same_inode {
  my @a = lstat $_[0] or return 0;
  my @b = lstat $_[1] or return 0;
  return $a[0] == $b[0] && $a[1] == $b[1];
}
sub touch_new { my $f = $_[0]; open(my $h, '>', $f) or return 0; close $h; return 1 }
my %REAL_DIR; # directories known to be real ones (not symlinks) while nothing in the tree moves: prep
sub in_tree { # every directory above $_[0], below the root, is a real one: not reached through a symlink
  my $d = $_[0];
  for (;;) {
    $d =~ s{/[^/]*\z}{};
    last if length($d) <= length($R) || $REAL_DIR{$d};
    return 0 if -l $d;
    $REAL_DIR{$d} = 1 unless $PLANNED;
  }
  return 1;
}
sub mvx { # rename $a over $b; two names of one inode already are the result (rename(2) leaves both)
  my ($a, $b) = @_;
  if (rename $a, $b) { unlink $a if ex($a) && same_inode($a, $b); return 1 }
  my $err = "$!";
  if (same_inode($a, $b)) { unlink $a; return 1 }
  return fail("rename $a -> $b: $err");
}

# --- system calls perl-base has no function for --------------------------------------------------------
# numbers by this perl's own architecture (not uname: a 32-bit perl on a 64-bit kernel is another ABI)
my %NR = $Config{archname} =~ /^x86_64-linux/ && $Config{ptrsize} == 8
  ? (utimensat => 280, lsetxattr => 189, lremovexattr => 198, syncfs => 306, clock_gettime => 228)
  : $Config{archname} =~ /^(aarch64|riscv64|loongarch64)-linux/ && $Config{ptrsize} == 8
  ? (utimensat => 88, lsetxattr => 6, lremovexattr => 15, syncfs => 267, clock_gettime => 113)
  : ();
%NR = () if ($ENV{UNDERSTUDY_AGENT_NO_SYSCALL} // '') ne '';
my $AT_FDCWD = -100;
my $AT_SYMLINK_NOFOLLOW = 0x100;

sub now { # SEC.NSEC: clock_gettime where the syscall table is known (no process inside the window)
  if (%NR) {
    my $ts = pack('q2', 0, 0);
    return sprintf('%d.%09d', unpack('q2', $ts)) if syscall($NR{clock_gettime}, 0, $ts) == 0; # CLOCK_REALTIME
  }
  my $t = `date +%s.%N 2>/dev/null`; chomp $t; return $t =~ /^\d+\.\d+$/ ? $t : time;
}

sub utimens { # path, sec, nsec -> true on success (atime and mtime, the link itself)
  my ($p, $s, $ns) = @_;
  my $path = "$p";
  return syscall($NR{utimensat}, $AT_FDCWD, $path, pack('q4', $s, $ns, $s, $ns), $AT_SYMLINK_NOFOLLOW) == 0;
}

sub syscalls_work { # self-test of the table on a scratch file: two exact times read back by lstat
  return 0 unless %NR;
  my $f = "$WORK/.syscall-test";
  touch_new($f) or return 0;
  my $ok = utimens($f, 1, 1) && (lstat $f)[9] == 1 && utimens($f, 7, 0) && (lstat $f)[9] == 7;
  unlink $f;
  return $ok;
}

my $TOUCH_NS = 1;
sub set_time { # path, 'SEC.NNNNNNNNN'
  my ($p, $t) = @_;
  my ($s, $ns) = $t =~ /^(-?\d+)\.(\d{9})$/ or return fail("bad time $t");
  return 1 if %NR && utimens($p, $s, $ns);
  return fail("utimensat $p: $!") if %NR;
  return 1 if $ns == 0 && !-l $p && utime($s, $s, $p);
  # no syscall table: a touch that takes @SEC.NSEC (GNU), else whole seconds (busybox)
  if ($TOUCH_NS) {
    return 1 if system('touch', '-h', '-c', '-d', "\@$t", $p) == 0;
    $TOUCH_NS = 0;
    print STDERR "understudy-agent: no nanosecond touch here; mtimes kept to the second\n";
  }
  return system('touch', '-h', '-c', '-d', "\@$s", $p) == 0 || fail("cannot set the time of $p");
}

sub b64 { # base64 -> bytes (MIME::Base64 is not in perl-base): through uudecode's alphabet
  my $s = $_[0];
  $s =~ tr|A-Za-z0-9+/||cd;
  $s =~ tr|A-Za-z0-9+/| -_|;
  my $uu = '';
  $uu .= chr(32 + int(length($1) * 3 / 4)) . $1 while $s =~ /(.{1,60})/gs;
  return unpack('u', $uu);
}
sub xname { my $n = dec($_[0]); $n =~ s/\\([0-7]{3})/chr(oct $1)/ge; return $n } # setfattr's \ooo quoting

sub xattr_rm {
  my ($p, $field) = @_;
  for my $x (split /,/, $field) {
    if (%NR) { my ($path, $name) = ("$p", '' . xname($x)); syscall($NR{lremovexattr}, $path, $name) }
    else { system('setfattr', '-h', '-x', dec($x), $p) }
  }
  return 1;
}
sub xattr_set {
  my ($p, $field) = @_;
  for my $x (split /,/, $field) {
    my ($n, $v) = $x =~ /^(.*?)=0s(.*)$/s or return fail("bad xattr field $x");
    if (%NR) {
      my ($path, $name, $value) = ("$p", '' . xname($n), '' . b64($v));
      syscall($NR{lsetxattr}, $path, $name, $value, length($value), 0) == 0 or return fail("lsetxattr $p: $!");
    } else {
      system('setfattr', '-h', '-n', dec($n), '-v', "0s$v", $p) == 0 or return fail("setfattr $p failed");
    }
  }
  return 1;
}

sub apply_meta { # PATH MODE UID GID MTIME XSET XRM ('-' = leave as is); chown first: it clears setuid and caps
  my ($p, $mode, $uid, $gid, $mtime, $xset, $xrm) = @_;
  return 1 unless ex($p);
  if ($uid ne '-') { POSIX::lchown($uid, $gid, $p) or return fail("chown $p: $!") }
  if ($mode ne '-' && !-l $p) { chmod(oct($mode), $p) or return fail("chmod $p: $!") }
  xattr_rm($p, $xrm) if $xrm ne '-';
  if ($xset ne '-') { xattr_set($p, $xset) or return 0 }
  if ($mtime ne '-') { set_time($p, $mtime) or return 0 }
  return 1;
}

sub sync_all { # the filesystems of the areas and of the journal (syncfs), or everything (sync)
  return system('sync') == 0 unless %NR;
  my %seen;
  for my $d (@AREA, $TXD, ($UNIT && $R eq '' ? ('/etc/systemd/system') : ())) {
    my $fh;
    next unless sysopen($fh, $d, O_RDONLY);
    my $dev = (stat $fh)[0];
    my $ok = $seen{$dev}++ || syscall($NR{syncfs}, fileno($fh)) == 0;
    close $fh;
    return system('sync') == 0 unless $ok;
  }
  return 1;
}

# The journal file's own durability ('planned', 'commit', 'aborted'); the tree's comes from sync_all
sub fsync_path {
  my $fh;
  sysopen($fh, $_[0], O_RDONLY) or return $!{ENOENT} ? 1 : 0;
  my $ok = $fh->sync;
  close $fh;
  return $ok;
}
sub fsync_journal { return !$JFH || $JFH->sync }

# --- journal -------------------------------------------------------------------------------------------
sub read_journal {
  %JHAS = ();
  my $last = 0;
  if (open(my $h, '<', $J)) {
    while (<$h>) {
      if (/^done (\d+)$/) { $last = $1 } elsif (/^(planned|undo-begin|commit|aborted|synced)\b/) { $JHAS{$1} = 1 }
      $JHAS{async} = 1 if /^commit .* async$/;
    }
    close $h;
  }
  $JHAS{exists} = -f $J ? 1 : 0;
  return $last;
}
sub jr {
  unless ($JFH) { sysopen($JFH, $J, O_WRONLY | O_APPEND | O_CREAT, 0644) or die_("cannot write journal $J: $!") }
  my $l = "$_[0]\n";
  (syswrite($JFH, $l) // -1) == length $l or die_("cannot write journal $J: $!");
  $JHAS{exists} = 1;
  $JHAS{$1} = 1 if $_[0] =~ /^(planned|undo-begin|commit|aborted|synced)\b/;
  $JHAS{async} = 1 if $_[0] =~ /^commit .* async$/;
}
sub done_ { push @DONE, $_[0]; flush_done() if @DONE >= $BATCH }
sub flush_done {
  return unless @DONE;
  my $l = join('', map { "done $_\n" } @DONE);
  @DONE = ();
  unless ($JFH) { sysopen($JFH, $J, O_WRONLY | O_APPEND | O_CREAT, 0644) or die_("cannot write journal $J: $!") }
  (syswrite($JFH, $l) // -1) == length $l or die_("cannot write journal $J: $!");
}
sub tx_state {
  return 'prepared' unless $JHAS{exists};
  return 'committed' if $JHAS{commit};
  return 'aborted' if $JHAS{aborted};
  return 'planned' if $JHAS{planned};
  return 'prepared';
}

# --- the plan ------------------------------------------------------------------------------------------
sub open_tx { # WORK TXID: reads the plan and the journal
  ($WORK, my $id) = @_;
  $TXD = "$WORK/tx/$id"; $PLAN = "$TXD/plan"; $J = "$TXD/journal";
  undef $JFH; @DONE = ();
  open(my $h, '<', $PLAN) or die_("no plan in $TXD");
  my $head = <$h> // '';
  ($NOPS) = $head =~ /^understudy-plan 1 \S+ \S+ (\d+)$/ or die_("not a plan: $PLAN");
  @AREA = (); @PREP = (); @OPS = (); @REJOIN = (); @FAST = (); $FLAT = 0;
  my $ended = 0;
  while (my $l = <$h>) {
    chomp $l;
    if ($l eq 'end') { $ended = 1; last }
    if ($l =~ s/^op //) { $l =~ /^(\d+) / && $1 == @OPS + 1 or die_("op lines out of order in $PLAN"); push @OPS, $l }
    elsif ($l =~ s/^prep //) { push @PREP, $l }
    elsif ($l =~ /^area (\d+) (\S+)$/) { $AREA[$1] = dec($2) }
    elsif ($l eq 'layout flat') { $FLAT = 1 }
    elsif ($l =~ s/^rejoin //) { push @REJOIN, $l }
  }
  close $h;
  $ended or die_("incomplete plan: $PLAN (its writer stopped before the end)");
  my $last = read_journal();
  $PLANNED = $JHAS{planned} ? 1 : 0;
  return $last;
}

sub slots { # N AREA PATHFIELD -> target, staged object, undo slot
  my ($n, $ai, $field) = @_;
  my $d = dec($field);
  my $A = $ai eq '-' ? '' : $AREA[$ai] // die_("bad area $ai");
  return ("$R$d", "$A/stage/$n", "$A/undo/$n") if $FLAT;
  (my $leaf = $d) =~ s{.*/}{}s;
  return ("$R$d", "$A/stage/$n/$leaf", "$A/undo/$n");
}

# --- preparation: staged objects with their metadata, undo links; no rename in the tree ----------------
sub stage_dirs { # per-op directories (the sh path's layout): none when flat
  return 1 if $FLAT;
  my @dirs;
  for (@PREP) { my ($n, $ai) = split / /; push @dirs, "$AREA[$ai]/stage/$n" }
  for (@OPS) { my ($n, $kind, $ai) = split / /; push @dirs, "$AREA[$ai]/stage/$n" if $kind eq 'link' }
  for (@dirs) { mkdir $_ or -d $_ or return fail("mkdir $_: $!") }
  return 1;
}

# What prep found ready, so the window is the bare system call: $FAST[n] = [staged object, target] (a
# put whose undo slot is in place and whose object is not already the target) or [target] (a deleted
# file linked into its undo slot). Anything else, or a fast step that fails, takes the careful step (fwd).
sub prep {
  my ($n, $ai, $path, $ty, $arg, @meta) = split / /, $_[0];
  my ($P, $S, $U) = slots($n, $ai, $path);
  my $sd = "$AREA[$ai]/stage/$n";
  if ($ty eq 'file') {
    if (!ex($S)) {
      -e "$sd/.content" && rename("$sd/.content", $S) or return fail("staged object $n is missing");
    }
  } elsif ($ty eq 'ln') {
    if (!ex($S)) { step(); link(dec($arg), $S) or return fail("link $S: $!") }
    @meta = ('-') x 6;
  } elsif ($ty eq 'cp') {
    if (!ex($S)) { step(); system('cp', '-p', '--', $R . dec($arg), "$sd/.tmp") == 0 && rename("$sd/.tmp", $S) or return fail("copy to $S failed") }
  } elsif ($ty eq 'symlink') {
    if (!ex($S)) { step(); symlink(dec($arg), $S) or return fail("symlink $S: $!") }
  } elsif ($ty eq 'fifo') {
    if (!ex($S)) { step(); POSIX::mkfifo($S, 0600) or return fail("mkfifo $S: $!") }
  } elsif ($ty =~ /^([cb]):(\d+):(\d+)$/) {
    if (!ex($S)) { step(); system('mknod', $S, $1, $2, $3) == 0 or return fail("mknod $S failed") }
  } else { die_("unknown staged type $ty") }
  step(); apply_meta($S, @meta) or return 0;
  my @p = lstat $P;
  if (!ex($U) && !-e "$U.none") {
    # (below a symlink that an earlier step replaces by a directory, the name is not in the tree yet)
    if (!@p || !in_tree($P)) { step(); touch_new("$U.none") or return fail("$U.none: $!") }
    elsif (!POSIX::S_ISDIR($p[2])) { step(); link($P, $U) or return fail("link $P -> $U: $!") }
    else { return 1 } # a directory here goes away by an earlier step of the plan: the put decides at its turn
  }
  my @s = lstat $S;
  $FAST[$n] = [$S, $P] unless @p && @s && $p[0] == $s[0] && $p[1] == $s[1];
  return 1;
}

sub prelink_dels { # a file the plan deletes gets its undo link now: inside the window its delete is an unlink
  for (@OPS) {
    my ($n, $kind, $ai, $path) = split / /;
    next unless $kind eq 'del';
    my ($P, undef, $U) = slots($n, $ai, $path);
    next unless ex($P) && !realdir($P);
    if (!ex($U)) { step(); link($P, $U) or return fail("link $P -> $U: $!") }
    $FAST[$n] = [$P] if same_inode($P, $U);
  }
  return 1;
}

# --- forward and undo of one op (the op line's fields after 'op') --------------------------------------
sub fwd {
  my ($n, $kind, $ai, $path, @rest) = @_;
  my ($P, $S, $U) = slots($n, $ai, $path);
  if ($kind eq 'put' || $kind eq 'link') {
    if ($kind eq 'link') {
      my $L = $R . dec($rest[0]);
      return 1 if same_inode($P, $L);
      if (!ex($S)) {
        (my $sd = $S) =~ s{/[^/]*\z}{}s;
        mkdir $sd unless -d $sd;
        step(); link($L, $S) or return fail("link $L -> $S: $!");
      }
    }
    return 1 unless ex($S);
    if (!ex($U) && !-e "$U.none") {
      if (ex($P)) {
        return fail("$P is a directory") if realdir($P);
        step(); link($P, $U) or return fail("link $P -> $U: $!");
      } else { step(); touch_new("$U.none") or return fail("$U.none: $!") }
    }
    step(); return mvx($S, $P);
  }
  if ($kind eq 'del') {
    return 1 unless ex($P);
    if (ex($U)) {
      # a file linked into its undo slot before the window: only its name goes; anything else at the
      # name is what a later step put there (this one ran: its object is in the slot)
      return 1 unless !realdir($P) && same_inode($P, $U);
      step(); return unlink($P) || fail("unlink $P: $!");
    }
    step(); return rename($P, $U) || fail("rename $P -> $U: $!");
  }
  if ($kind eq 'mkdir') {
    if (!realdir($P)) {
      if (ex($P)) { step(); rename($P, $U) or return fail("rename $P -> $U: $!") }
      step(); touch_new("$U.mk") or return fail("$U.mk: $!");
      step(); mkdir($P) or return fail("mkdir $P: $!");
    }
    return 1 unless -e "$U.mk";
    step(); return apply_meta($P, @rest[0 .. 5]);
  }
  if ($kind eq 'meta') { step(); return apply_meta($P, @rest[0 .. 5]) }
  die_("unknown op $kind");
}

sub undo_op {
  my ($n, $kind, $ai, $path, @rest) = @_;
  my ($P, undef, $U) = slots($n, $ai, $path);
  if ($kind eq 'put' || $kind eq 'link' || $kind eq 'del') {
    if (ex($U)) { step(); return mvx($U, $P) }
    if (-e "$U.none") {
      # below a symlink its forward step never ran (the directory that replaces the link comes first,
      # and is undone after): that name is the link target's, not ours
      if (in_tree($P)) { step(); unlink($P) or $!{ENOENT} or $!{ENOTDIR} or return fail("unlink $P: $!") }
      unlink "$U.none";
    }
    return 1;
  }
  if ($kind eq 'mkdir') {
    if (-e "$U.mk") {
      if (realdir($P)) { step(); rmdir($P) or return fail("rmdir $P: $!") }
      unlink "$U.mk";
    }
    if (ex($U)) { step(); rename($U, $P) or return fail("rename $U -> $P: $!") }
    return 1;
  }
  if ($kind eq 'meta') {
    my @prev = @rest[6 .. 11];
    return 1 if join('', @prev) eq '------';
    step(); return apply_meta($P, @prev);
  }
  return 1;
}

sub run_undo { # every op undone in reverse, then the directories' old times again (renames moved them)
  my $quiet = $_[0];
  flush_done();
  jr('undo-begin') unless $JHAS{'undo-begin'};
  for my $l (reverse @OPS) {
    my @f = split / /, $l;
    undo_op(@f) or return fail("undo of step $f[0] failed");
  }
  for my $l (@OPS) {
    my @f = split / /, $l;
    next unless $f[1] eq 'meta';
    undo_op(@f) or return fail("undo of step $f[0] failed");
  }
  sync_all(); jr('aborted ' . now()); sync_all();
  cleanup('undo');
  print "result aborted\n" unless $quiet;
  return 1;
}

# the boot unit that recovers after a crash stays the sh path's alone (one copy of it)
sub sh_agent { (my $id = $TXD) =~ s{.*/}{}s; return system('sh', $0, $_[0], $WORK, $id) == 0 }
sub unit_install { return 1 unless $UNIT && $R eq ''; return sh_agent('unit-install') }
sub unit_remove { return 1 unless $UNIT && $R eq ''; return sh_agent('unit-remove') }

sub cleanup { # staging (and undo leftovers after an abort), extra links, the boot unit
  my $how = $_[0];
  if ($how eq 'commit') {
    # objects hardlinked in from an earlier transaction's undo area are back in the tree: drop the extra
    # links; an undo slot whose inode a name of the tree still holds goes too (the record names it)
    for (@PREP) { my @f = split / /; unlink dec($f[4]) if $f[3] eq 'ln' }
    for (@REJOIN) {
      my ($n, $ai, $q) = split / /;
      unlink "$AREA[$ai]/undo/$n" if same_inode("$AREA[$ai]/undo/$n", $R . dec($q));
    }
  }
  my @gone = map { ("$_/stage", $how eq 'undo' ? ("$_/undo") : ()) } @AREA;
  system('rm', '-rf', '--', @gone);
  unit_remove();
}

sub abort_prep { print STDERR "$_[0]\n"; cleanup('undo'); print "result aborted\n"; return 3 }

sub do_apply {
  my $st = tx_state();
  if ($st eq 'committed') { print "result committed\n"; return 0 }
  if ($st eq 'aborted') { print "result aborted\n"; return 3 }
  if (!$JHAS{planned}) {
    print 'prep-start ', now(), "\n";
    stage_dirs() or return abort_prep('cannot make the staging directories');
    for my $l (@PREP) { prep($l) or return abort_prep('staging step ' . (split / /, $l)[0] . ' failed') }
    prelink_dels() or return abort_prep('linking a deleted file into the undo area failed');
    unit_install();
    sync_all(); # the staged objects and the plan are durable before the journal says so (one barrier)
    jr('planned'); $PLANNED = 1; fsync_journal(); fsync_path($TXD);
  }
  if ($JHAS{'undo-begin'}) { return run_undo() ? 3 : 7 }
  # The window is ~0.2 s of CPU for a release upgrade's 11k steps; on a busy host its wall time is mostly
  # waiting for a core. It runs at a raised priority (root may; elsewhere it stays as it was), given back
  # once the decision is written: the barrier and cleanup after it are no part of the window.
  my $nice = eval { getpriority(0, 0) };
  eval { setpriority(0, 0, -20) } if defined $nice && $nice > -20;
  jr('begin ' . now());
  for my $i (0 .. $#OPS) {
    my $n = $i + 1; # (open_tx checked: op lines come numbered 1..N, in order)
    if (my $f = $FAST[$n]) {
      step();
      if (@$f == 2 ? rename($f->[0], $f->[1]) : unlink($f->[0])) { done_($n); next }
    }
    my $l = $OPS[$i];
    my @f = split / /, $l;
    if (!fwd(@f)) {
      print STDERR "step $f[0] ($f[1]) failed; rolling back\n";
      return run_undo() ? 3 : 7;
    }
    done_($f[0]);
  }
  flush_done();
  # the decision, written at once: the window ends here. Then the barrier: every rename durable before
  # the staging goes (recovery of a 'commit' whose staging is still there re-runs the forward steps,
  # each of which tells from the filesystem whether it ran, so a rename a crash lost is made again)
  step(); jr('commit ' . now() . ' async');
  eval { setpriority(0, 0, $nice) } if defined $nice;
  step(); sync_all(); jr('synced');
  cleanup('commit');
  print "result committed\nsteps $K\n";
  return 0;
}

sub redo_forward {
  for my $l (@OPS) { my @f = split / /, $l; fwd(@f) or return fail("step $f[0] ($f[1]) failed rolling forward") }
  return 1;
}

# A plan without its last line was cut off while it was written (older orchestrators could leave one):
# with no journal, no agent ever ran on it and the tree is as it was; it is closed as aborted.
sub plan_ends {
  open(my $h, '<', $_[0]) or return 0;
  my $size = -s $h;
  seek($h, $size >= 5 ? $size - 5 : 0, 0);
  local $/; my $tail = <$h> // '';
  close $h;
  return $tail =~ /(?:^|\n)end\n\z/;
}
sub discarded { # TXID: its journal ($J) says it ended before it began
  jr('planned'); jr('undo-begin'); jr('aborted ' . now());
  print "recovered $_[0] discarded\n";
}
sub discard_unwritten {
  my ($id) = @_;
  $TXD = "$WORK/tx/$id"; $J = "$TXD/journal"; undef $JFH; %JHAS = ();
  discarded($id); undef $JFH;
}

sub do_recover {
  opendir(my $dh, "$WORK/tx") or return 0;
  my @ids = sort grep { !/^\./ && -f "$WORK/tx/$_/plan" } readdir $dh;
  closedir $dh;
  for my $id (@ids) {
    if (!plan_ends("$WORK/tx/$id/plan")) {
      if (!-e "$WORK/tx/$id/journal") { discard_unwritten($id); next }
      $J = "$WORK/tx/$id/journal"; read_journal();
      next if $JHAS{aborted}; # discarded before
    }
    my $last = open_tx($WORK, $id);
    my $st = tx_state();
    if ($st eq 'committed') {
      if ($JHAS{async} && !$JHAS{synced}) { # committed before its barrier: what a crash lost of the renames is made again
        if (-d "$AREA[0]/stage") { redo_forward() or do { print "recovered $id needs-recovery\n"; return 7 } }
        sync_all(); jr('synced'); cleanup('commit');
        print "recovered $id committed\n";
      } elsif (-d "$AREA[0]/stage") { cleanup('commit') } # a cleanup cut short
      next;
    }
    next if $st eq 'aborted';
    if ($st eq 'prepared') {
      cleanup('undo'); unlink $J; undef $JFH; %JHAS = ();
      discarded($id);
    } elsif (!$JHAS{'undo-begin'} && $last == $NOPS) {
      sync_all(); jr('commit ' . now()); sync_all(); cleanup('commit');
      print "recovered $id committed\n";
    } else {
      if (!run_undo(1)) { print "recovered $id needs-recovery\n"; return 7 }
      print "recovered $id rolled-back\n";
    }
  }
  return 0;
}

sub lock_work {
  if (!mkdir "$WORK/lock") {
    my $pid = '';
    if (open(my $h, '<', "$WORK/lock/pid")) { $pid = <$h> // ''; chomp $pid; close $h }
    if ($pid =~ /^\d+$/ && $pid != $$ && kill(0, $pid)) { print STDERR "busy: agent $pid runs\n"; exit 75 }
  }
  open(my $h, '>', "$WORK/lock/pid") or die_("cannot write $WORK/lock/pid: $!");
  print $h "$$\n";
  close $h;
}
sub unlock_work { system('rm', '-rf', '--', "$WORK/lock") }

$| = 1;
my $MODE = shift @ARGV // '';
if ($MODE eq 'apply') {
  @ARGV >= 3 or die_('usage: agent.sh apply ROOT WORK TXID [--unit]');
  $UNIT = ($ARGV[3] // '') eq '--unit' ? 1 : 0;
  ($R = $ARGV[0]) =~ s{/+\z}{};
  open_tx($ARGV[1], $ARGV[2]);
  lock_work();
  %NR = () unless syscalls_work();
  print "path perl\n";
  my $rc = do_apply();
  unlock_work();
  exit $rc;
} elsif ($MODE eq 'recover') {
  @ARGV >= 2 or die_('usage: agent.sh recover ROOT WORK [--unit]');
  $UNIT = ($ARGV[2] // '') eq '--unit' ? 1 : 0;
  ($R = $ARGV[0]) =~ s{/+\z}{};
  $WORK = $ARGV[1];
  lock_work();
  %NR = () unless syscalls_work();
  my $rc = do_recover();
  unlock_work();
  exit $rc;
}
die_("the perl path takes apply and recover, not '$MODE'");
