import Testing

@testable import ModelCheck

/// Declared kernel state (variables, their copies, their accesses), assertions, invariants
/// and functions: each construct's meaning on specs small enough to count by hand.
@Suite struct KernelStateTests {
  func run(
    _ header: String, checks: String = "deadlock_free", expect: String = "pass",
    _ cpus: String
  ) throws -> CheckResult {
    try check(spec(mode: "native", header: header, checks: checks, expect: expect, cpus))
  }

  @Test("each CPU has its own copy of a percpu variable; per_cpu reads another's")
  func perCPUCopies() throws {
    let r = try run(
      """
      percpu x: 0..3 = 0
      invariant own_copies: per_cpu(x, cpu0) != 2 && per_cpu(x, cpu1) != 1
      """,
      """
      cpu cpu0 {
        var seen
        this_cpu_write(x, 1)
        seen = per_cpu(x, cpu1)
        assert(seen == 0 || seen == 2)
      }
      cpu cpu1 {
        this_cpu_write(x, 2)
      }
      """)
    #expect(r.matchesExpectation, "\(r.properties.map { "\($0.kind.name)=\($0.status)" })")
    #expect(r.status(.invariant) == .pass && r.status(.assertions) == .pass)
  }

  @Test("a pertask variable follows its task when the task migrates")
  func perTaskFollowsTask() throws {
    let r = try run(
      "pertask flag: bool",
      """
      cpu cpu0
      cpu cpu1
      task t0 on cpu0 {
        var f
        set_thread_flag(flag)
        f = test_thread_flag(flag)
        assert(f)
      }
      """)
    #expect(r.status(.assertions) == .pass)
  }

  @Test("a handler's current is the task it interrupted")
  func handlerCurrent() throws {
    let r = try run(
      "pertask flag: bool", checks: "deadlock_free", expect: "fail assertions",
      """
      cpu cpu0 {
        set_thread_flag(flag)
      }
      interrupt h on cpu0 {
        var f
        f = test_and_clear_ti_thread_flag(current, flag)
        assert(!f)
      }
      """)
    // The handler can fire after cpu0 set its flag, and then reads (and clears) cpu0's.
    #expect(r.status(.assertions) == .fail)
    #expect(r.result(.assertions)?.counterexample?.length == 4)
  }

  @Test("a value outside a variable's range is a runtime fault at its statement")
  func outOfRange() throws {
    let r = try run(
      "global n: 0..1 = 1", "cpu cpu0 {\n  atomic_inc(n)\n}")
    #expect(r.stopReason?.runtimeFault == .variableFault)
    let d = FaultReport.diagnostic(r.program, run: r.faultRun ?? [], fault: .variableFault)
    #expect(d.range.start.line == 9 && d.id == "check.runtime-fault")
  }

  @Test("per_cpu of a CPU that does not exist is a runtime fault, not a trap")
  func noSuchCPU() throws {
    let r = try run(
      "percpu x: bool", "cpu cpu0 {\n  var c, v\n  c = 3\n  v = per_cpu(x, c)\n}")
    #expect(r.stopReason?.runtimeFault == .variableFault)
  }

  @Test("BUG_ON fails only where its condition can hold, at the BUG_ON's line")
  func bugOn() throws {
    let body = """
      cpu cpu0 {
        var v
        v = ptep_get(b)
        BUG_ON(pte_present(v))
      }
      cpu cpu1 {
        set_pte(b, present | pfn(2))
      }
      """
    let r = try run("", expect: "fail no_bug", body)
    #expect(r.status(.noBug) == .fail && r.matchesExpectation)
    let c = try #require(r.result(.noBug)?.counterexample)
    #expect(c.length == 3)  // cpu1 writes, cpu0 reads, BUG_ON
    let trace = Trace(program: r.program, counterexample: c)
    #expect(trace.steps.last?.location?.start.line == 11)
    let quiet = try run("", "cpu cpu0 {\n  var v\n  v = ptep_get(b)\n  BUG_ON(pte_present(v))\n}")
    #expect(quiet.status(.noBug) == .pass)
  }

  @Test("WARN_ON and assert report to their own properties")
  func warnAndAssert() throws {
    let r = try run(
      "", expect: "fail no_warn, assertions",
      "cpu cpu0 {\n  var v\n  v = ptep_get(a)\n  WARN_ON(pte_present(v))\n  assert(pte_none(v))\n}")
    #expect(r.status(.noWarn) == .fail && r.status(.assertions) == .fail)
    #expect(r.status(.noBug) == nil)  // not asked for: no BUG_ON in the spec
  }

  @Test("an invariant false in the initial state fails with an empty run")
  func invariantInitially() throws {
    let r = try run(
      "global n: 0..3 = 2\ninvariant small: n != 2", expect: "fail invariant",
      "cpu cpu0 {\n  atomic_dec(n)\n}")
    #expect(r.result(.invariant)?.counterexample?.length == 0)
    let why = Explanation.why(
      .invariant, Trace(program: r.program, counterexample: .run([])), r.program)
    #expect(why == "invariant small (line 6) is false in the initial state: n = 2")
  }

  @Test("a function returns a value, and its steps carry the call chain")
  func functions() throws {
    let r = try run(
      "percpu x: 0..3 = 0", expect: "fail assertions",
      """
      fn get() {
        var v
        v = this_cpu_read(x)
        return v
      }
      fn bump() {
        this_cpu_inc(x)
        return get()
      }
      cpu cpu0 {
        var n
        n = bump()
        assert(n == 0)
      }
      """)
    let c = try #require(r.result(.assertions)?.counterexample)
    let trace = Trace(program: r.program, counterexample: c)
    #expect(trace.steps.map(\.operation).contains { $0.contains("[in get <- bump <- line 19]") })
    #expect(r.status(.assertions) == .fail)
  }

  @Test("mmu_update queues in this CPU's multicall buffer until HYPERVISOR_multicall")
  func multicall() throws {
    // A PTE passed by name to a function; the entry is not in memory until issued.
    let text = spec(
      mode: "direct", checks: "deadlock_free", expect: "fail assertions",
      """
      fn queue(p, v) {
        mmu_update(p, v)
      }
      cpu cpu0 {
        var seen
        queue(a, present | write | pfn(1))
        seen = ptep_get(a)
        assert(pte_write(seen))
        HYPERVISOR_multicall()
        seen = ptep_get(a)
        assert(pte_write(seen))
      }
      """)
    let r = try check(text)
    let c = try #require(r.result(.assertions)?.counterexample)
    // The first assert fails (the entry is queued); nothing else needed to show it.
    #expect(c.length == 3)
    #expect(Trace(program: r.program, counterexample: c).steps.last?.location?.start.line == 15)
    #expect(
      errors(text.replacingOccurrences(of: "mode direct", with: "mode native"))
        .contains("[sema.needs-mode]"))
  }

  @Test("HYPERVISOR_multicall applies its entries one step at a time, as Xen does")
  func multicallPerEntry() throws {
    // Two entries, a then b. Issued atomically, `a` would be new whenever `b` is; Xen's
    // do_mmu_update applies them in order, one at a time, so there is a state with `a` new
    // and `b` still old (and none the other way round: the order is kept).
    let text = spec(
      mode: "direct", header: "invariant half: !(pte_pfn(a) == 2 && b == none)",
      checks: "deadlock_free", expect: "fail invariant",
      """
      cpu cpu0 {
        mmu_update(a, present | pfn(2))
        mmu_update(b, present | pfn(3))
        HYPERVISOR_multicall()
      }
      """)
    let r = try check(text)
    let c = try #require(r.result(.invariant)?.counterexample)
    #expect(c.length == 3)  // two appends, then the first entry of the hypercall
    // The other order never happens: b lands only after a.
    let ordered = try check(
      text.replacingOccurrences(
        of: "!(pte_pfn(a) == 2 && b == none)", with: "!(b != none && a != present | pfn(2))"
      ).replacingOccurrences(of: "expect fail invariant", with: "expect pass"))
    #expect(ordered.status(.invariant) == .pass)
    // 1 initial + 2 appends + 2 entries applied, each its own state.
    #expect(ordered.statistics.states == 5)
  }

  @Test("mmu_update on a full buffer issues it entry by entry, then queues its own entry")
  func multicallFullBuffer() throws {
    // batch_limit 3: the buffer holds 2. The third mmu_update flushes a, then b, each a step,
    // and is queued: c lands only at the final HYPERVISOR_multicall.
    let text = """
      mode direct
      batch_limit 3
      pte a = none
      pte b = none
      pte c = none
      invariant c_after_b: !(c != none && b == none)
      invariant not_with_full_flush: !(c != none && a == none)
      check deadlock_free
      expect pass
      cpu cpu0 {
        var seen
        mmu_update(a, present | pfn(1))
        mmu_update(b, present | pfn(2))
        mmu_update(c, present | pfn(3))
        seen = ptep_get(b)
        assert(pte_present(seen))          // the whole buffer was issued, not just its head
        seen = ptep_get(c)
        assert(seen == none)
        HYPERVISOR_multicall()
        seen = ptep_get(c)
        assert(pte_present(seen))
      }
      """
    let r = try check(text)
    #expect(r.matchesExpectation, "\(r.properties.map { "\($0.kind.name)=\($0.status)" })")
    // initial, a queued, b queued, a applied (still in mmu_update(c)), b applied and c
    // queued, two reads, c applied, the read.
    #expect(r.statistics.states == 9)
  }

  @Test("__set_pte_nosync: software sees the store at once, the walker after dsb_ishst")
  func setPTENosync() throws {
    // In mode shadow: the table is written now, the walker's copy when the buffer is applied.
    let body = """
      cpu cpu0 {
        var seen, ok
        __set_pte_nosync(b, present | write | pfn(2))
        seen = ptep_get(b)
        assert(pte_write(seen))
        BARRIER
        ok = touch(b, write)
        assert(ok)
      }
      """
    let text = spec(
      mode: "shadow", checks: "no_stale_read, deadlock_free",
      body.replacingOccurrences(of: "BARRIER", with: "dsb_ishst()"))
    let r = try check(text)
    #expect(r.matchesExpectation, "\(r.properties.map { "\($0.kind.name)=\($0.status)" })")
    #expect(r.status(.assertions) == .pass && r.status(.noStaleRead) == .pass)
    // Without the barrier the walk sees the old entry: the writer's own access is stale.
    let bare = try check(
      spec(
        mode: "shadow", checks: "no_stale_read, deadlock_free", expect: "fail no_stale_read",
        body.replacingOccurrences(of: "BARRIER", with: "")))
    #expect(bare.status(.noStaleRead) == .fail && bare.status(.assertions) == .fail)
    #expect(
      errors(text.replacingOccurrences(of: "mode shadow", with: "mode direct"))
        .contains("[sema.needs-mode]"))
  }

  @Test("dsb_ish is dsb_ishst: the same step on the same buffer, the same states")
  func dsbIsh() throws {
    func run(_ barrier: String) throws -> CheckResult {
      try check(
        spec(
          mode: "shadow", checks: "no_stale_read, deadlock_free",
          """
          cpu cpu0 {
            var ok
            __set_pte_nosync(b, present | write | pfn(2))
            \(barrier)
            ok = touch(b, write)
            assert(ok)
          }
          cpu cpu1 {
            var ok
            __set_pte_nosync(a, present | pfn(3))
            \(barrier)
            ok = touch(a, read)
            assert(ok)
          }
          """))
    }
    let ish = try run("dsb_ish()")
    let ishst = try run("dsb_ishst()")
    #expect(ish.matchesExpectation && ishst.matchesExpectation)
    #expect(ish.statistics.states == ishst.statistics.states)
  }

  @Test("what a spec cannot say about kernel state is an error with its location")
  func diagnostics() {
    let cases: [(String, String)] = [
      ("global g: bool\ncpu cpu0 {\n  var v\n  v = this_cpu_read(g)\n}", "sema.variable-scope"),
      ("percpu p: bool\ncpu cpu0 {\n  var v\n  v = READ_ONCE(p)\n}", "sema.variable-scope"),
      ("cpu cpu0 {\n  var v\n  v = READ_ONCE(nope)\n}", "spec.unknown-name"),
      ("global g: 0..3[2]\ncpu cpu0 {\n  var v\n  v = READ_ONCE(g)\n}", "sema.needs-index"),
      ("global g: bool\ncpu cpu0 {\n  var v\n  v = READ_ONCE(g[1])\n}", "sema.not-array"),
      ("global g: 3..1\ncpu cpu0 {\n}", "sema.bad-range"),
      ("global g: mode\ncpu cpu0 {\n}", "spec.unknown-name"),
      ("global g: 0..3 = 9\ncpu cpu0 {\n}", "sema.value-range"),
      ("global g: bool\ncpu cpu0 {\n  var v\n  v = g\n}", "sema.variable-in-expression"),
      ("pertask f: bool\ncpu cpu0 {\n  set_ti_thread_flag(cpu0, f)\n}", "sema.expected-current"),
      ("enum e { A }\nenum e { B }\ncpu cpu0 {\n}", "sema.duplicate-name"),
      ("invariant i: r0\ncpu cpu0 {\n}", "spec.unknown-name"),
      ("fn f() {\n  f()\n}\ncpu cpu0 {\n  f()\n}", "sema.recursion"),
      ("fn f(a) {\n}\ncpu cpu0 {\n  f()\n}", "sema.arity"),
      ("cpu cpu0 {\n  return\n}", "sema.return-outside-function"),
      ("fn f() {\n}\nfn f() {\n}\ncpu cpu0 {\n}", "sema.duplicate-name"),
    ]
    for (body, id) in cases {
      let text = "mode native\npte a = none\n" + body + "\nexpect pass\n"
      let rendered = errors(text)
      #expect(rendered.contains("[\(id)]"), "\(body)\n\(rendered)")
      #expect(rendered.contains("test.spec:"), "no location: \(rendered)")
    }
  }
}

/// `include "file"`: library code from other files, placed by its own file in errors and
/// traces.
@Suite struct IncludeTests {
  static let library = """
    enum mode { OFF, ON }
    percpu m: mode
    fn turn_on() {
      var was
      was = this_cpu_read(m)
      BUG_ON(was == ON)
      this_cpu_write(m, ON)
    }
    include "more.spec"
    """
  static let files = [
    "dir/lib/x.spec": library,
    "dir/lib/more.spec": "include \"x.spec\"\nglobal g: bool\n",  // a cycle: read once
    "dir/lib/bad.spec": "fn f() {\n  y = 1\n}\n",
    "dir/lib/spec.spec": "mode native\n",
    "dir/lib/twice.spec": "fn turn_on() {\n}\n",
  ]

  func compile(_ body: String) -> Result<Program, Pipeline.SpecError> {
    let text = "mode native\npte a = none\n\(body)\nexpect fail no_bug\n"
    return Result { () throws(Pipeline.SpecError) in
      try Pipeline.compile(SourceFile(path: "dir/main.spec", text: text)) { Self.files[$0] }
    }
  }

  @Test("included functions, enums and variables are the spec's; traces place them")
  func included() throws {
    let program = try compile(
      "include \"lib/x.spec\"\ncpu cpu0 {\n  turn_on()\n  turn_on()\n}"
    ).get()
    #expect(program.spec.variables.map(\.name) == ["m", "g"])
    let file = try #require(program.spec.sourceFile)
    #expect(file.includes.map(\.path) == ["dir/lib/x.spec", "dir/lib/more.spec"])
    let r = Pipeline.check(program, file: file)
    let c = try #require(r.result(.noBug)?.counterexample)
    let trace = Trace(program: program, counterexample: c)
    let last = try #require(trace.steps.last?.location)
    #expect(file.place(last.start) == "dir/lib/x.spec:6:3")
    #expect(TextReport.counterexample(r.result(.noBug)!, trace, r).contains("dir/lib/x.spec:6:3"))
    let why = Explanation.why(.noBug, trace, program)
    #expect(why.contains("(dir/lib/x.spec:6:3)"), "\(why)")
  }

  @Test("the spec's own function replaces a library function of that name; two are an error")
  func specOverridesLibrary() throws {
    // The spec's turn_on() does not BUG: the library's (which does) is replaced.
    let program = try compile(
      "include \"lib/x.spec\"\nfn turn_on() {\n  this_cpu_write(m, ON)\n}\n"
        + "cpu cpu0 {\n  turn_on()\n  turn_on()\n}"
    ).get()
    let r = Pipeline.check(program, file: try #require(program.spec.sourceFile))
    #expect(r.status(.noBug) != .fail)
    // Two libraries that both define it: the spec cannot tell which it means.
    guard
      case .failure(let e) = compile(
        "include \"lib/x.spec\"\ninclude \"lib/twice.spec\"\ncpu cpu0 {\n  turn_on()\n}")
    else {
      Issue.record("compiled")
      return
    }
    #expect(e.rendered.contains("function 'turn_on' is defined twice"), "\(e.rendered)")
  }

  @Test("an error in an included file is reported in that file, with its line")
  func errorInIncluded() {
    guard case .failure(let e) = compile("include \"lib/bad.spec\"\ncpu cpu0 {\n  f()\n}")
    else {
      Issue.record("compiled")
      return
    }
    #expect(
      e.rendered.contains("dir/lib/bad.spec:2:3: error: unknown register 'y'"), "\(e.rendered)")
    #expect(e.rendered.contains(" 2 |   y = 1"))
  }

  @Test("a missing file, and a file that is not a library, are errors at the include")
  func badIncludes() {
    for (body, id) in [
      ("include \"lib/none.spec\"\ncpu cpu0 {\n}", "spec.include-not-found"),
      ("include \"lib/spec.spec\"\ncpu cpu0 {\n}", "spec.include-not-library"),
    ] {
      guard case .failure(let e) = compile(body) else {
        Issue.record("compiled: \(body)")
        continue
      }
      #expect(e.rendered.hasPrefix("dir/main.spec:3:9: error:"), "\(e.rendered)")
      #expect(e.rendered.contains("[\(id)]"))
    }
  }
}

extension KernelStateTests {
  @Test("a read-back of a backend's queued entry names the buffer and the variable behind it")
  func whyNamesBackendState() throws {
    let url = packageRoot.appendingPathComponent(
      "Specs/kernel-state/xen-switch-hooks-current.spec")
    let r = try check(try String(contentsOf: url, encoding: .utf8), path: url.path)
    let c = try #require(r.result(.noStaleRead)?.counterexample)
    let why = Explanation.why(.noStaleRead, Trace(program: r.program, counterexample: c), r.program)
    #expect(why.contains("is still an entry of cpu0's multicall buffer"), "\(why)")
    #expect(
      why.contains(
        "because the context switch on cpu0 (in arch_end_context_switch) set "
          + "per_cpu(xen_lazy_mode, cpu0) to XEN_LAZY_MMU"), "\(why)")
    #expect(why.hasSuffix("and t1 never changed it"), "\(why)")
  }
}

extension KernelStateTests {
  @Test("a blind install over another's write is a lost update; remap's BUG_ON makes it checked")
  func bugOnCoversBlindInstall() throws {
    // cpu1 installs a mapping of its own if b is empty (re-checked under the ptl); cpu0
    // installs over whatever is there, under the ptl too.
    func run(_ cpu0: String) throws -> CheckResult {
      try check(
        spec(
          mode: "native", checks: "no_lost_update, deadlock_free", expect: "pass",
          """
          cpu cpu0 {
            var pte
            spin_lock(ptl)
          \(cpu0)
            set_pte(b, present | pfn(1))
            spin_unlock(ptl)
          }
          cpu cpu1 {
            var pte
            spin_lock(ptl)
            pte = ptep_get(b)
            if pte_none(pte) { set_pte(b, present | pfn(2)) }
            spin_unlock(ptl)
          }
          """))
    }
    let blind = try run("")
    #expect(blind.status(.noLostUpdate) == .fail)
    let why = Explanation.why(
      .noLostUpdate,
      Trace(
        program: blind.program,
        counterexample: try #require(
          blind.result(.noLostUpdate)?.counterexample)),
      blind.program)
    #expect(why.contains("without looking at it, over cpu1's write"), "\(why)")
    #expect(why.contains("BUG_ON(!pte_none(ptep_get(pte)))"), "\(why)")
    // The kernel's statement of intent looks at the PTE: no lost update any more, and the
    // conflicting order is the BUG_ON's.
    let stated = try run("  pte = ptep_get(b)\n  BUG_ON(!pte_none(pte))")
    #expect(stated.status(.noLostUpdate) == .pass)
    #expect(stated.status(.noBug) == .fail)
  }
}

extension KernelStateTests {
  @Test("irq_enter() and irq_exit() run around every handler, a cross-call function too")
  func interruptEntryExitHooks() throws {
    let r = try check(
      spec(
        mode: "native",
        header: "percpu in_irq: 0..3 = 0\ninvariant never_two: per_cpu(in_irq, cpu0) != 2",
        checks: "deadlock_free", expect: "pass",
        """
        fn irq_enter() { this_cpu_inc(in_irq) }
        fn irq_exit() { this_cpu_dec(in_irq) }
        fn f() {
          var n
          n = this_cpu_read(in_irq)
          assert(n == 1)
        }
        cpu cpu0 {
          var n
          smp_call_function_many(cpu_bit(cpu1), f, 1)
          n = this_cpu_read(in_irq)
          assert(n == 0)
        }
        cpu cpu1 {
        }
        interrupt irq0 on cpu0 {
          var n
          n = this_cpu_read(in_irq)
          assert(n == 1)
        }
        """))
    #expect(r.matchesExpectation, "\(r.properties.map { "\($0.kind.name)=\($0.status)" })")
    #expect(r.status(.assertions) == .pass && r.status(.invariant) == .pass)
    // Without the exit hook the count stays up after the handler: the caller's assert fails.
    let text = spec(
      mode: "native", header: "percpu in_irq: 0..3 = 0", checks: "deadlock_free",
      expect: "fail assertions",
      """
      fn irq_enter() { this_cpu_inc(in_irq) }
      cpu cpu0 {
        var n
        n = this_cpu_read(in_irq)
        assert(n == 0)
      }
      interrupt irq0 on cpu0 {
      }
      """)
    let broken = try check(text)
    let c = try #require(broken.result(.assertions)?.counterexample)
    let ops = Trace(program: broken.program, counterexample: c).steps.map(\.operation)
    #expect(ops.contains { $0.contains("[in irq_enter <- line") }, "\(ops)")
  }
}
