import Testing

@testable import ModelCheck

/// Cross-calls: `smp_call_function_many(mask, f, wait)` with a spec function as the handler
/// (docs/spec-language.md "Cross-calls"): its diagnostics, and what a call is, on specs
/// small enough to count by hand.
@Suite struct CrossCallTests {
  static func text(
    header: String = "", checks: String = "deadlock_free", expect: String = "pass",
    _ body: String
  ) -> String {
    """
    mode native
    pte a = none
    \(header)
    check \(checks)
    expect \(expect)
    \(body)
    """
  }

  // MARK: Diagnostics

  @Test("the function must be a function of the spec")
  func unknownFunction() {
    let e = errors(
      Self.text(
        """
        fn flush() { }
        cpu cpu0 { smp_call_function_many(cpu_bit(cpu1), flsh, 1) }
        cpu cpu1
        """))
    #expect(e.contains("must be a function of the spec, not 'flsh'"), "\(e)")
    #expect(e.contains("did you mean 'flush'?"), "\(e)")
    #expect(e.contains("[sema.cross-call-function]"), "\(e)")
    let notName = errors(
      Self.text(
        """
        cpu cpu0 { smp_call_function_many(cpu_bit(cpu1), a, 1) }
        cpu cpu1
        """))
    #expect(notName.contains("[sema.cross-call-function]"), "\(notName)")
  }

  @Test("the function takes no parameters")
  func functionWithParameters() {
    let e = errors(
      Self.text(
        """
        fn flush(p) { }
        cpu cpu0 { smp_call_function_many(cpu_bit(cpu1), flush, 1) }
        cpu cpu1
        """))
    #expect(e.contains("'flush' takes 1 parameter: a cross-call function takes none"), "\(e)")
  }

  @Test("wait is the constant 0 or 1; three arguments; cpu_bit takes a CPU")
  func badWait() {
    for wait in ["2", "w"] {
      let e = errors(
        Self.text(
          """
          fn f() { }
          cpu cpu0 {
            var w = 1
            smp_call_function_many(cpu_bit(cpu1), f, \(wait))
          }
          cpu cpu1
          """))
      #expect(e.contains("must be the constant 0 or 1"), "\(e)")
      #expect(e.contains("[sema.bad-wait]"), "\(e)")
    }
    let arity = errors(
      Self.text(
        """
        fn f() { }
        cpu cpu0 { smp_call_function_many(cpu_bit(cpu1), f) }
        cpu cpu1
        """))
    #expect(arity.contains("takes 3 arguments, not 2"), "\(arity)")
    let mask = errors(
      Self.text(
        """
        fn f() { }
        cpu cpu0 {
          var c = 1
          smp_call_function_many(cpu_bit(c), f, 1)
        }
        cpu cpu1
        """))
    #expect(mask.contains("'cpu_bit' takes a CPU name"), "\(mask)")
    let reserved = errors(Self.text("fn smp_call_function_many() { }\ncpu cpu0 { }"))
    #expect(reserved.contains("[sema.reserved-name]"), "\(reserved)")
  }

  // MARK: Semantics

  @Test("wait = 1 by hand: queue, the IPI, the return, the wait: 5 states")
  func handCountedWait() throws {
    // The initial state; f queued on cpu1 (cpu0 at its wait); cpu1 in f (at the csd unlock);
    // f done; cpu0 past its wait, finished.
    let r = try check(
      Self.text(
        """
        fn f() { }
        cpu cpu0 { smp_call_function_many(cpu_bit(cpu1), f, 1) }
        cpu cpu1
        """))
    #expect(r.matchesExpectation)
    #expect(r.statistics.states == 5)
    #expect(r.statistics.transitions == 4)
    #expect(r.program.spec.cpus.map(\.name) == ["cpu0", "cpu1/ipi:f"])
  }

  @Test("wait = 0 by hand: cpu0 finishes at once: 4 states")
  func handCountedNoWait() throws {
    let r = try check(
      Self.text(
        """
        fn f() { }
        cpu cpu0 { smp_call_function_many(cpu_bit(cpu1), f, 0) }
        cpu cpu1
        """))
    #expect(r.statistics.states == 4)
    #expect(r.statistics.transitions == 3)
  }

  static let waitSpec = """
    fn f() { WRITE_ONCE(g, 1) }
    cpu cpu0 {
      var v
      smp_call_function_many(cpu_bit(cpu1), f, WAIT)
      v = READ_ONCE(g)
      assert(v)
    }
    cpu cpu1 { }
    """

  @Test("the caller waits for the target's f with wait = 1, not with 0")
  func callerWaits() throws {
    let header = "global g: bool"
    let waits = try check(
      Self.text(
        header: header, checks: "deadlock_free, assertions",
        Self.waitSpec.replacingOccurrences(of: "WAIT", with: "1")))
    #expect(waits.status(.assertions) == .pass)
    let goesOn = try check(
      Self.text(
        header: header, checks: "deadlock_free, assertions", expect: "fail assertions",
        Self.waitSpec.replacingOccurrences(of: "WAIT", with: "0")))
    #expect(goesOn.status(.assertions) == .fail)
  }

  static let irqSpec = """
    fn f() {
      var v, irq
      v = READ_ONCE(inside)
      irq = in_interrupt()
      assert(!v && irq)
    }
    cpu cpu0 { smp_call_function_many(cpu_bit(cpu1), f, 1) }
    cpu cpu1 {
      local_irq_disable()
      WRITE_ONCE(inside, 1)
      WRITE_ONCE(inside, 0)
      local_irq_enable()
    }
    """

  @Test("the target runs f only with interrupts on, in interrupt context")
  func onlyWithInterruptsOn() throws {
    let header = "global inside: bool"
    let r = try check(Self.text(header: header, checks: "deadlock_free, assertions", Self.irqSpec))
    #expect(r.status(.assertions) == .pass)
    #expect(r.status(.deadlockFree) == .pass)
    let open = Self.irqSpec.replacingOccurrences(of: "  local_irq_disable()\n", with: "")
      .replacingOccurrences(of: "  local_irq_enable()\n", with: "")
    let unguarded = try check(
      Self.text(
        header: header, checks: "deadlock_free, assertions", expect: "fail assertions", open))
    #expect(unguarded.status(.assertions) == .fail)
  }

  @Test("the caller's own CPU never runs f, even when the mask names it")
  func callerExcluded() throws {
    let r = try check(
      Self.text(
        checks: "deadlock_free, assertions",
        """
        fn f() {
          var c
          c = smp_processor_id()
          assert(c != cpu0)
        }
        cpu cpu0 { smp_call_function_many(cpu_bit(cpu0) | cpu_bit(cpu1), f, 1) }
        cpu cpu1
        """))
    #expect(r.status(.assertions) == .pass)
    #expect(r.status(.deadlockFree) == .pass)
  }

  @Test("an idle target runs f with current its idle task; a CPU without tasks has none")
  func idleTarget() throws {
    let ok = try check(
      Self.text(
        header: "global g: bool",
        """
        fn f() { WRITE_ONCE(g, 1) }
        cpu cpu0 { smp_call_function_many(cpu_bit(cpu1), f, 1) }
        cpu cpu1
        task t0 { }                               // off-CPU at first: cpu1 is idle
        """))
    #expect(ok.stopReason?.runtimeFault == nil)
    #expect(ok.status(.deadlockFree) == .pass)
    // current on an idle CPU is its idle task: f may set its flag.
    let idle = try check(
      Self.text(
        header: "pertask flag: bool",
        """
        fn f() { set_ti_thread_flag(current, flag) }
        cpu cpu0 { smp_call_function_many(cpu_bit(cpu1), f, 1) }
        cpu cpu1
        task t0 { }                               // off-CPU at first: cpu1 is idle
        """))
    #expect(idle.stopReason?.runtimeFault == nil)
    // A CPU that runs no task has no idle task either (the spec has none): a fault.
    let r = try check(
      Self.text(
        header: "pertask flag: bool",
        """
        fn f() { set_ti_thread_flag(current, flag) }
        cpu cpu0 { smp_call_function_many(cpu_bit(cpu1), f, 1) }
        cpu cpu1
        """))
    let fault = try #require(r.stopReason?.runtimeFault)
    let run = try #require(r.faultRun)
    let text = DiagnosticRenderer.render(
      FaultReport.diagnostic(r.program, run: run, fault: fault), in: r.file)
    #expect(text.contains("set_ti_thread_flag(current, flag)"), "\(text)")
    #expect(text.contains("[check.runtime-fault]"), "\(text)")
  }

  @Test("a second call waits for the first on that CPU (the csd lock)")
  func csdLock() throws {
    // cpu0 queues f on cpu2 twice without waiting: the second call spins until cpu2 has run
    // the first, so f runs twice and never concurrently with a pending copy.
    let r = try check(
      Self.text(
        header: "global n: 0..3\ninvariant at_most_two: n != 3", checks: "deadlock_free",
        """
        fn f() { atomic_inc(n) }
        cpu cpu0 {
          smp_call_function_many(cpu_bit(cpu2), f, 0)
          smp_call_function_many(cpu_bit(cpu2), f, 0)
        }
        cpu cpu2
        """))
    #expect(r.status(.invariant) == .pass)
    #expect(r.status(.deadlockFree) == .pass)
    // Initial; queued; in f; f incremented; done; queued again; in f; incremented; done: one
    // line of states, the second call blocked while the first is pending.
    #expect(r.statistics.states == 9)
    #expect(r.statistics.transitions == 8)
  }

  @Test("a wait that cannot end is a deadlock, and the why says who waits for what")
  func deadlock() throws {
    let r = try check(
      Self.text(
        header: "lock l", expect: "fail deadlock_free",
        """
        fn f() { }
        cpu cpu0 {
          spin_lock(l)
          smp_call_function_many(cpu_bit(cpu1), f, 1)
          spin_unlock(l)
        }
        cpu cpu1 {
          local_irq_disable()
          spin_lock(l)
          spin_unlock(l)
          local_irq_enable()
        }
        """))
    #expect(r.status(.deadlockFree) == .fail)
    let c = try #require(r.result(.deadlockFree)?.counterexample)
    let trace = Trace(program: r.program, counterexample: c)
    let why = Explanation.why(.deadlockFree, trace, r.program)
    #expect(
      why.hasPrefix(
        "cpu0 waits in smp_call_function_many for f to finish on its targets, but cpu1 has "
          + "interrupts off, and cpu1 waits for l held by cpu0"), "\(why)")
  }

  @Test("called with interrupts off or from a handler: the kernel's WARN (no_warn)")
  func warns() throws {
    let off = try check(
      Self.text(
        expect: "fail no_warn",
        """
        fn f() { }
        cpu cpu0 {
          local_irq_disable()
          smp_call_function_many(cpu_bit(cpu1), f, 0)
          local_irq_enable()
        }
        cpu cpu1
        """))
    #expect(off.status(.noWarn) == .fail)
    let c = try #require(off.result(.noWarn)?.counterexample)
    let why = Explanation.why(.noWarn, Trace(program: off.program, counterexample: c), off.program)
    #expect(
      why.hasPrefix("cpu0 called smp_call_function_many (line 9) with interrupts off on cpu0"),
      "\(why)")
    let handler = try check(
      Self.text(
        expect: "fail no_warn",
        """
        fn f() { }
        cpu cpu0 { }
        cpu cpu1 { }
        interrupt irq0 on cpu1 { smp_call_function_many(cpu_bit(cpu0), f, 0) }
        """))
    #expect(handler.status(.noWarn) == .fail)
    let quiet = try check(
      Self.text(
        """
        fn f() { }
        cpu cpu0 { smp_call_function_many(cpu_bit(cpu1), f, 0) }
        cpu cpu1
        """))
    #expect(quiet.status(.noWarn) == .pass)
  }

  @Test("f's steps are the cpuN/ipi:f context's, with the IPI as the call site")
  func traceNamesTheHandler() throws {
    let r = try check(
      Self.text(
        header: "global g: bool", checks: "deadlock_free, assertions", expect: "fail assertions",
        Self.waitSpec.replacingOccurrences(of: "WAIT", with: "0")
          .replacingOccurrences(of: "assert(v)", with: "assert(!v)")))
    let c = try #require(r.result(.assertions)?.counterexample)
    let trace = Trace(program: r.program, counterexample: c)
    let ops = trace.steps.map { "\($0.actor): \($0.operation)" }
    #expect(
      ops.contains(
        "irq: cpu1 takes the cross-call IPI: runs f (cpu1/ipi:f)"), "\(ops)")
    #expect(
      ops.contains(
        "cpu1/ipi:f: WRITE_ONCE(g, 1)  [in f <- smp_call_function_many IPI on cpu1]"),
      "\(ops)")
    let handlerStep = try #require(trace.steps.first { $0.actor == "cpu1/ipi:f" })
    #expect(Explanation.actor(r.program, handlerStep) == "cpu1/ipi:f")
    #expect(
      trace.steps.contains { $0.effects.contains("f queued on cpu1") },
      "\(trace.steps.map(\.effects))")
  }

  @Test("on_each_cpu_mask also runs f on the caller's CPU, with interrupts off, then waits")
  func onEachCPU() throws {
    let body = """
      fn f() {
        atomic_inc(n)
        this_cpu_write(inside, 1)
        this_cpu_write(inside, 0)
      }
      cpu cpu0 {
        var v
        on_each_cpu_mask(MASK, f, 1)
        v = READ_ONCE(n)
        assert(v == COUNT)
      }
      cpu cpu1
      interrupt irq0 on cpu0 {
        var v
        v = this_cpu_read(inside)
        assert(!v)
      }
      """
    let header = "global n: 0..3\npercpu inside: bool"
    let both = try check(
      Self.text(
        header: header, checks: "deadlock_free, assertions",
        body.replacingOccurrences(of: "MASK", with: "cpu_bit(cpu0) | cpu_bit(cpu1)")
          .replacingOccurrences(of: "COUNT", with: "2")))
    #expect(both.status(.assertions) == .pass)
    #expect(both.status(.deadlockFree) == .pass)
    #expect(both.status(.noWarn) == .pass)
    let remoteOnly = try check(
      Self.text(
        header: header, checks: "deadlock_free, assertions",
        body.replacingOccurrences(of: "MASK", with: "cpu_bit(cpu1)")
          .replacingOccurrences(of: "COUNT", with: "1")))
    #expect(remoteOnly.status(.assertions) == .pass)
    // A plain call of f instead, interrupts on: irq0 can see it halfway.
    let plain = try check(
      Self.text(
        header: header, checks: "deadlock_free, assertions", expect: "fail assertions",
        body.replacingOccurrences(of: "on_each_cpu_mask(MASK, f, 1)", with: "f()")
          .replacingOccurrences(of: "COUNT", with: "1")))
    #expect(plain.status(.assertions) == .fail)
    let e = errors(
      Self.text(
        """
        fn f() { }
        cpu cpu0 { on_each_cpu_mask(cpu_bit(cpu1), f, 3) }
        cpu cpu1
        """))
    #expect(e.contains("[sema.bad-wait]"), "\(e)")
  }

  @Test("a spec without cross-calls has no handler contexts")
  func noCrossCallsNoContexts() throws {
    let r = try check(Self.text("fn f() { }\ncpu cpu0 { f() }\ncpu cpu1"))
    #expect(r.program.spec.cpus.count == 1)
    #expect(r.program.machine.config.crossCallHandler.isEmpty)
  }
}
