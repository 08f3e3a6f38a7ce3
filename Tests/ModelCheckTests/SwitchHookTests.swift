import Testing

@testable import ModelCheck

/// Context-switch hooks written in the spec (`fn arch_start_context_switch(prev)`,
/// `fn arch_end_context_switch(next)`): their diagnostics, and what a switch with hooks is
/// (docs/spec-language.md "Context-switch hooks"), on specs small enough to count by hand.
@Suite struct SwitchHookTests {
  static func text(
    header: String = "", checks: String = "deadlock_free", expect: String = "pass",
    _ body: String
  ) -> String {
    """
    mode direct
    pte a = none
    \(header)
    check \(checks)
    expect \(expect)
    \(body)
    """
  }

  // MARK: Diagnostics

  @Test("a hook takes exactly one parameter")
  func arity() {
    let e = errors(
      Self.text(
        """
        fn arch_start_context_switch(prev, next) { }
        fn arch_end_context_switch() { }
        cpu cpu0
        task t0 on cpu0 { }
        """))
    #expect(e.contains("'arch_start_context_switch' takes one parameter"), "\(e)")
    #expect(e.contains("'arch_end_context_switch' takes one parameter"), "\(e)")
    #expect(e.contains("[sema.arity]"), "\(e)")
  }

  @Test("hooks and the built-in context_switch_hooks conflict")
  func conflict() {
    let e = errors(
      Self.text(
        header: "context_switch_hooks",
        """
        fn arch_end_context_switch(next) { }
        cpu cpu0
        task t0 on cpu0 { }
        """))
    #expect(e.contains("[sema.hook-conflict]"), "\(e)")
  }

  @Test("prev and next name a task only in a hook's own body")
  func taskOutsideHook() {
    let header = "pertask f: bool\npertask n: 0..3"
    let inTask = errors(
      Self.text(
        header: header,
        """
        cpu cpu0
        task t0 on cpu0 { set_ti_thread_flag(prev, f) }
        """))
    #expect(inTask.contains("expected 'current'"), "\(inTask)")
    #expect(inTask.contains("[sema.expected-current]"), "\(inTask)")
    let inCallee = errors(
      Self.text(
        header: header,
        """
        fn helper() { WRITE_ONCE(next.n, 1) }
        fn arch_end_context_switch(next) { helper() }
        cpu cpu0
        task t0 on cpu0 { }
        """))
    #expect(inCallee.contains("[sema.expected-current]"), "\(inCallee)")
    let called = errors(
      Self.text(
        """
        fn arch_start_context_switch(prev) { }
        cpu cpu0
        task t0 on cpu0 { arch_start_context_switch(current) }
        """))
    #expect(called.contains("[sema.hook-call]"), "\(called)")
  }

  @Test("in a hook, the parameter names its task in flag operations and member access")
  func hookTaskAccepted() {
    let e = errors(
      Self.text(
        header: "pertask f: bool\npertask n: 0..3",
        """
        fn arch_start_context_switch(prev) {
          set_ti_thread_flag(prev, f)
          WRITE_ONCE(prev.n, 1)
        }
        fn arch_end_context_switch(to) {
          var x
          x = test_and_clear_ti_thread_flag(to, f)
          x = READ_ONCE(to.n)
          x = READ_ONCE(current.n)
        }
        cpu cpu0
        task t0 on cpu0 { }
        """))
    #expect(e == "(compiled without errors)", "\(e)")
  }

  // MARK: Semantics

  @Test("a switch to idle: begin, each hook's step, the end: 5 states by hand")
  func handCounted() throws {
    // t0 has finished at the start: the only action is cpu0's switch to idle. States: the
    // initial one; the switch begun (the start hook at its WRITE_ONCE); the start hook done
    // (the end hook at its WRITE_ONCE: it runs with next = the idle task, as __switch_to()
    // does); the end hook done (at the end of the switch); cpu0 idle.
    let r = try check(
      Self.text(
        header: "global g: bool\ninvariant set_only_by_hook: !g || true",
        """
        fn arch_start_context_switch(prev) { WRITE_ONCE(g, 1) }
        fn arch_end_context_switch(next) { WRITE_ONCE(g, 0) }
        cpu cpu0
        task t0 on cpu0 { }
        """))
    #expect(r.matchesExpectation)
    #expect(r.statistics.states == 5)
    #expect(r.statistics.transitions == 4)
    #expect(r.statistics.depth == 4)
  }

  @Test("without hooks the same switch is one step: the spec's shape is unchanged")
  func noHooksOneStep() throws {
    let r = try check(
      Self.text(
        header: "global g: bool",
        """
        cpu cpu0
        task t0 on cpu0 { }
        """))
    #expect(r.statistics.states == 2)
    #expect(r.program.spec.cpus.count == 1)
  }

  @Test("a switch to idle runs the end hook too, with next the CPU's idle task")
  func idleRunsEndHook() throws {
    // The end hook reads next's flag: the idle task's own copy, false; so it writes h: the
    // hook runs on a switch to idle, as the kernel's __switch_to() runs it.
    let r = try check(
      Self.text(
        header: "global h: bool\npertask f: bool\ninvariant never: !h",
        """
        fn arch_end_context_switch(next) {
          var was
          was = test_ti_thread_flag(next, f)
          if !was { WRITE_ONCE(h, 1) }
        }
        cpu cpu0
        task t0 on cpu0 { }
        """))
    // The initial state; the switch begun (at the flag test); the test done (at the
    // WRITE_ONCE); the write done (at the switch's end); cpu0 idle.
    #expect(r.status(.invariant) == .fail)
    #expect(r.statistics.states == 5)
  }

  @Test("another CPU sees what the start hook wrote before the switch ends")
  func otherCPUInterleaves() throws {
    let r = try check(
      Self.text(
        header: "global g: bool", checks: "deadlock_free, reachable",
        """
        fn arch_start_context_switch(prev) { WRITE_ONCE(g, 1) }
        fn arch_end_context_switch(next) { WRITE_ONCE(g, 0) }
        cpu cpu0
        cpu cpu1 {
          var v
          v = READ_ONCE(g)
          reachable(v == 1)
        }
        task t0 on cpu0 { }
        task t1 { var x
          x = smp_processor_id() }
        """))
    #expect(r.status(.reachable) == .pass)
    #expect(r.status(.deadlockFree) == .pass)
  }

  @Test("no program, handler or IPI runs on the switching CPU until the switch ends")
  func nothingRunsOnTheCPU() throws {
    let r = try check(
      Self.text(
        header: "global s: bool", checks: "deadlock_free, assertions",
        """
        fn arch_start_context_switch(prev) {
          WRITE_ONCE(s, 1)
          WRITE_ONCE(s, 0)
        }
        cpu cpu0
        task t0 on cpu0 {
          var v
          v = READ_ONCE(s)
          assert(!v)
        }
        task t1 {
          var v
          v = READ_ONCE(s)
          assert(!v)
        }
        interrupt irq0 on cpu0 {
          var v
          v = READ_ONCE(s)
          assert(!v)
        }
        """))
    #expect(r.matchesExpectation, "\(r.properties.map { "\($0.kind.name)=\($0.status)" })")
    #expect(r.status(.assertions) == .pass)
  }

  static let currentSpec = """
    fn arch_end_context_switch(next) { set_ti_thread_flag(current, f) }
    cpu cpu0
    task t0 on cpu0 { }
    task t1 { var x
      x = smp_processor_id() }
    """

  @Test("current in the end hook is prev; the parameter is next")
  func currentIsPrev() throws {
    let wrong = try check(
      Self.text(
        header: "pertask f: bool\ninvariant prev_untouched: !t0.f", checks: "deadlock_free",
        expect: "fail invariant", Self.currentSpec))
    #expect(wrong.status(.invariant) == .fail)
    let c = try #require(wrong.result(.invariant)?.counterexample)
    let last = try #require(Trace(program: wrong.program, counterexample: c).steps.last)
    #expect(last.effects == ["t0.f: false -> true"], "\(last.effects)")
    let byParameter = try check(
      Self.text(
        header: "pertask f: bool\ninvariant next_untouched: !t1.f", checks: "deadlock_free",
        expect: "fail invariant",
        Self.currentSpec.replacingOccurrences(of: "(current, f)", with: "(next, f)")))
    #expect(byParameter.status(.invariant) == .fail)
  }

  @Test("a hook's steps are the sched context's, with the switch as the call site")
  func traceNamesTheHook() throws {
    let r = try check(
      Self.text(
        header: "pertask f: bool\ninvariant prev_untouched: !t0.f", checks: "deadlock_free",
        expect: "fail invariant", Self.currentSpec))
    let c = try #require(r.result(.invariant)?.counterexample)
    let trace = Trace(program: r.program, counterexample: c)
    let ops = trace.steps.map { "\($0.actor): \($0.operation)" }
    #expect(
      ops == [
        "sched: cpu0: switch t0 -> t1 begins (interrupts off)",
        "cpu0/sched: set_ti_thread_flag(current, f)  [in arch_end_context_switch <- "
          + "switch t0 -> t1]",
      ], "\(ops)")
    let why = Explanation.why(.invariant, trace, r.program)
    #expect(why.hasPrefix("invariant prev_untouched"), "\(why)")
    #expect(
      Explanation.actor(r.program, trace.steps[1])
        == "the context switch on cpu0 (in arch_end_context_switch)")
  }

  @Test("the idle task has its own pertask state: a hook may write it, and traces name it")
  func idleTaskState() throws {
    // A switch from idle sets prev's flag: the idle task's copy (idle/cpu0.f), not a task's.
    let r = try check(
      Self.text(
        header: "pertask f: bool",
        """
        fn arch_start_context_switch(prev) { set_ti_thread_flag(prev, f) }
        cpu cpu0
        task t0 { }
        task t1 { }
        """))
    #expect(r.stopReason?.runtimeFault == nil)
    let names = (0..<r.program.machine.config.taskCount + 1).map {
      KernelStateText.copyName(r.program.spec, 0, field: $0)
    }
    #expect(names == ["t0.f", "t1.f", "idle/cpu0.f"], "\(names)")
  }

  @Test("reading the idle task's state in a hook gives its initial value")
  func idleTaskRead() throws {
    let r = try check(
      Self.text(
        header: "pertask f: bool", checks: "deadlock_free, assertions",
        """
        fn arch_start_context_switch(prev) {
          var was
          was = test_and_clear_ti_thread_flag(prev, f)
          assert(!was)
        }
        cpu cpu0
        task t0 { }
        task t1 { var x
          x = smp_processor_id() }
        """))
    #expect(r.stopReason?.runtimeFault == nil)
    #expect(r.status(.assertions) == .pass)
  }

  @Test("a start hook that does not leave lazy mode: the why names the lazy section left on")
  func startHookWithoutLeave() throws {
    // Hooks over the machine's own lazy batch (the fixture), not the library's buffer.
    let url = packageRoot.appendingPathComponent(
      "Tests/ModelCheckTests/Fixtures/switch-hooks-machine-batch.spec")
    let text = try String(contentsOf: url, encoding: .utf8)
      .replacingOccurrences(
        of: "  if mode == XEN_LAZY_MMU {\n    xen_leave_lazy_mmu()\n",
        with: "  if mode == XEN_LAZY_MMU {\n"
      )
      .replacingOccurrences(of: "expect pass", with: "expect fail no_stale_read")
    // (A longer run also tags the idle task when cpu0, still lazy, switches from idle: a
    // runtime fault; the stale read comes first.)
    let r = try check(text)
    #expect(r.status(.noStaleRead) == .fail)
    let c = try #require(r.result(.noStaleRead)?.counterexample)
    let trace = Trace(program: r.program, counterexample: c)
    let why = Explanation.why(.noStaleRead, trace, r.program)
    #expect(
      why.contains("t1 never entered lazy mode, but cpu0 is still lazy from t0's lazy section"),
      "\(why)")
  }
}
