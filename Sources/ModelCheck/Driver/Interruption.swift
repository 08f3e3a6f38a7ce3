import Synchronization

#if canImport(Glibc)
  import Glibc
#elseif canImport(Musl)
  import Musl
#elseif canImport(Darwin)
  import Darwin
#endif

/// SIGINT and SIGTERM stop a run cleanly instead of killing it. The handler only records
/// the signal (and passes it on to the child checking a spec, see `Isolation`); the
/// explorer reads it at its periodic check (`Limits.stopRequest`) and stops with
/// `StopReason.interrupted`, and `Runner.run` starts no further spec.
public enum Interruption {
  /// The first stopping signal received, 0 while none has been.
  static let received = Atomic<Int32>(0)
  /// The child process checking a spec now (0: none), to which a signal is forwarded: a
  /// terminal's ^C reaches the whole process group, but `kill PID` only the parent.
  static let child = Atomic<Int32>(0)

  /// The signal that asked the run to stop, or 0.
  public static var signal: Int32 { received.load(ordering: .relaxed) }

  /// Installs the handlers (the command-line tool does, before checking anything).
  public static func install() {
    // A process may start with them blocked (a launcher's threads often block signals,
    // and the mask is inherited): unblocked, or they would wait forever.
    var unblock = sigset_t()
    sigemptyset(&unblock)
    sigaddset(&unblock, SIGINT)
    sigaddset(&unblock, SIGTERM)
    sigprocmask(SIG_UNBLOCK, &unblock, nil)
    for s in [SIGINT, SIGTERM] {
      var action = sigaction()
      #if canImport(Darwin)
        action.__sigaction_u.__sa_handler = onSignal
      #else
        action.__sigaction_handler.sa_handler = onSignal
      #endif
      sigemptyset(&action.sa_mask)
      // Restart interrupted reads and waits: the loops that do them check the flag anyway.
      action.sa_flags = SA_RESTART
      sigaction(s, &action, nil)
    }
  }

  /// Async-signal-safe: atomic loads and stores, and `kill`.
  private static let onSignal: @convention(c) (Int32) -> Void = { s in
    _ = Interruption.received.compareExchange(expected: 0, desired: s, ordering: .relaxed)
    let pid = Interruption.child.load(ordering: .relaxed)
    if pid > 0 { kill(pid, s) }
  }

  /// Records the child checking a spec; a signal that came while it was being started is
  /// passed on now.
  static func started(child pid: Int32) {
    child.store(pid, ordering: .relaxed)
    let s = signal
    if s != 0 { kill(pid, s) }
  }

  static func finishedChild() { child.store(0, ordering: .relaxed) }

  /// The exit status of a run a signal stopped: 128 + N, as a shell reports a process
  /// killed by signal N (130 for SIGINT, 143 for SIGTERM).
  static func exitCode(_ signal: Int32) -> Runner.ExitCode {
    signal == SIGTERM ? .terminated : .interrupted
  }
}
