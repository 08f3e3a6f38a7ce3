import PTState

/// JSON forms of the summary and of counterexamples (schemas in docs/json-format.md).
public enum JSONReport {
  public static let counterexampleSchema = "modelcheck.counterexample/1"
  public static let summarySchema = "modelcheck.summary/1"

  static func snapshot(_ s: MachineSnapshot, _ p: Program) -> JSON {
    let spec = p.spec
    let ptes: [(String, JSON)] = spec.pteNames.enumerated().map { i, name in
      var f: [(String, JSON)] = [("value", .string("\(s.mem[i])"))]
      if let sh = s.shadow { f.append(("shadow", .string("\(sh[i])"))) }
      f.append(("logical", .string("\(s.logical[i])")))
      return (name, .object(f))
    }
    let locks: [(String, JSON)] = spec.lockNames.enumerated().map { i, name in
      (name, s.lockHolder[i].map { .string(spec.cpus[$0].name) } ?? .null)
    }
    let programs: [(String, JSON)] = spec.cpus.enumerated().map { k, cpu in
      let x = s.contexts[k]
      let line = p.source(cpu: k, pc: x.pc).map { JSON.int($0.start.line) } ?? .null
      var fields: [(String, JSON)] = [
        ("cpu", x.cpu.map { .string(spec.cpuNames[$0]) } ?? .null),
        (
          "finished",
          .bool(
            {
              if case .end = p.instruction(cpu: k, pc: x.pc) { return true } else { return false }
            }())
        ),
        ("next_line", line),
        (
          "registers",
          .object(
            cpu.registers.enumerated().map {
              (
                $0.element,
                .string(
                  Trace.registerText(
                    cpu, $0.offset, x.registers[$0.offset], enums: spec.enums))
              )
            })
        ),
      ]
      if p.machine.config.lazyPerTask { fields.append(("lazy", .bool(x.lazy))) }
      if p.machine.config.usesNestingCounters {
        fields.append(("enable_count", .int(x.enableCount)))
        fields.append(("pause_count", .int(x.pauseCount)))
      }
      if p.machine.config.usesPreemptCount {
        fields.append(("preempt_count", .int(x.preemptCount)))
      }
      return (cpu.name, .object(fields))
    }
    let cpus: [(String, JSON)] = spec.cpuNames.enumerated().map { c, name in
      let x = s.cpus[c]
      return (
        name,
        .object([
          ("lazy", .bool(x.lazy)),
          (
            "batch",
            .array(
              x.batch.map {
                .object([
                  ("pte", .string(spec.pteNames[$0.pte])),
                  ("kind", .string($0.isFlush ? "flush_tlb" : "write")),
                  ("value", .string("\($0.value)")), ("preserve_ad", .bool($0.preserveAD)),
                  ("by", .string(spec.cpus[$0.writer].name)),
                ])
              })
          ),
          (
            "tlb",
            .object(
              spec.pteNames.enumerated().compactMap { i, n in
                x.tlb[i] == .none ? nil : (n, .string("\(x.tlb[i])"))
              })
          ),
          (
            "runs",
            (x.inIRQ ?? x.current ?? spec.cpus.firstIndex { $0.pinnedCPU == c }).map {
              .string(spec.cpus[$0].name)
            } ?? .null
          ),
        ])
      )
    }
    var state: [(String, JSON)] = [
      ("ptes", .object(ptes)), ("locks", .object(locks)), ("programs", .object(programs)),
      ("cpus", .object(cpus)),
    ]
    if !spec.pgdNames.isEmpty {
      state.append(
        (
          "pgd",
          .object(
            spec.pgdNames.enumerated().map { g, name in
              (
                name,
                .object([
                  ("value", .string("\(s.pgd[g])")),
                  (
                    "cached",
                    .object(
                      spec.cpuNames.enumerated().map {
                        ($0.element, .string("\(s.pgdCache[$0.offset][g])"))
                      })
                  ),
                ])
              )
            })
        ))
    }
    if !spec.ptPageNames.isEmpty {
      let states = ["never allocated", "allocated", "freed"]
      state.append(
        (
          "ptpages",
          .object(
            spec.ptPageNames.enumerated().map {
              ($0.element, .string(states[s.ptPages[$0.offset]]))
            })
        ))
    }
    if spec.mmUsers != nil {
      state.append(
        (
          "mm_users",
          .array(
            spec.cpuNames.enumerated().compactMap {
              s.runsMM[$0.offset] ? .string($0.element) : nil
            })
        ))
    }
    return .object(state)
  }

  /// The names of `Action.Kind` in a step's `action` object.
  static let actionKinds: [(Action.Kind, String)] = [
    (.cpuStep, "step"), (.hardwareAccess, "hardware_access"), (.tlbEvict, "tlb_evict"),
    (.earlyFlush, "early_flush"), (.shootdownIPI, "shootdown_ipi"),
    (.contextSwitch, "context_switch"), (.interrupt, "interrupt"),
  ]

  /// What `modelcheck replay` finds the step's action by: its kind and the names of what it
  /// acts on, which survive edits of the spec, then its place in the action table, which
  /// does not (any declaration added before it moves it).
  static func action(_ s: TraceStep, _ p: Program) -> JSON {
    let spec = p.spec
    let kind = actionKinds.first { $0.0 == s.action.kind }?.1 ?? "?"
    var f: [(String, JSON)] = [("kind", .string(kind))]
    switch s.action.meaning {
    case .step(let k, let branch):
      f += [("program", .string(spec.cpus[k].name)), ("branch", .int(branch))]
    case .hardwareAccess(let c, let pte, let access):
      f += [
        ("cpu", .string(spec.cpuNames[c])), ("pte", .string(spec.pteNames[pte])),
        ("access", .string(access == .write ? "write" : "read")),
      ]
    case .tlbEvict(let c, let pte), .shootdownIPI(let c, let pte):
      f += [("cpu", .string(spec.cpuNames[c])), ("pte", .string(spec.pteNames[pte]))]
    case .earlyFlush(let c): f += [("cpu", .string(spec.cpuNames[c]))]
    case .contextSwitch(let c, let to):
      f += [
        ("cpu", .string(spec.cpuNames[c])), ("to", to.map { .string(spec.cpus[$0].name) } ?? .null),
      ]
    case .interrupt(let h): f += [("program", .string(spec.cpus[h].name))]
    }
    f.append(("table_index", .int(s.actionIndex)))
    return .object(f)
  }

  public static func counterexample(_ prop: PropertyResult, _ trace: Trace, _ r: CheckResult)
    -> JSON
  {
    let p = r.program
    let steps: [JSON] = trace.steps.enumerated().map { i, s in
      .object([
        ("index", .int(i + 1)),
        ("actor", .string(s.actor)),
        ("operation", .string(s.operation)),
        (
          "location",
          s.location.map {
            .object(
              [("line", .int($0.start.line)), ("column", .int($0.start.column))]
                + ($0.start.file == 0
                  ? [] : [("file", .string(r.file.file(of: $0.start).path))]))
          } ?? .null
        ),
        ("action", action(s, p)),
        ("effects", .array(s.effects.map { .string($0) })),
        ("state", snapshot(s.after, p)),
      ])
    }
    return .object([
      ("schema", .string(counterexampleSchema)),
      ("spec", .string(r.file.path)),
      ("title", .string(p.spec.title)),
      ("mode", .string(p.spec.mode.rawValue)),
      ("property", .string(prop.kind.name)),
      ("kind", .string(trace.cycleStart == nil ? "run" : "lasso")),
      ("cycle_start", trace.cycleStart.map { .int($0 + 1) } ?? .null),
      ("why", .string(Explanation.why(prop.kind, trace, p))),
      ("initial", snapshot(trace.initial, p)),
      ("steps", .array(steps)),
    ])
  }

  public static func statistics(_ s: Statistics) -> JSON {
    .object([
      ("states", .int(s.states)), ("transitions", .int(s.transitions)), ("depth", .int(s.depth)),
      ("seconds", .double(s.seconds)),
      ("states_per_second", .int(Int(s.statesPerSecond.rounded()))),
      ("bytes_per_state_packed", .int(s.wordsPerState * 8)), ("store_bytes", .int(s.storeBytes)),
      ("store_trees", .bool(s.storeTrees)),
      ("fingerprints", .bool(s.fingerprints)),
      // A small probability: Swift's shortest round-trip form ("1.9e-07"), valid JSON.
      ("omission_probability", s.omissionBound.map { .raw("\($0)") } ?? .null),
      ("peak_rss_bytes", s.peakResidentBytes.map { .int($0) } ?? .null),
      ("reduced_states", .int(s.reducedStates)), ("symmetry", .bool(s.symmetry)),
      ("counterexamples_unreduced", .bool(s.counterexamplesUnreduced)),
    ])
  }

  public static func summary(_ r: CheckResult, traceFiles: [PropertyKind: String]) -> JSON {
    let spec = r.program.spec
    return .object([
      ("path", .string(r.file.path)),
      ("outcome", .string(r.outcome.rawValue)),
      ("title", .string(spec.title)),
      ("mode", .string(spec.mode.rawValue)),
      ("cpus", .array(spec.cpuNames.map { .string($0) })),
      ("programs", .array(spec.cpus.map { .string($0.name) })),
      ("expect", .string(spec.expectation.description)),
      ("as_expected", .bool(r.matchesExpectation)),
      ("stopped", r.stopReason.map { .string($0.message) } ?? .null),
      (
        "properties",
        .array(
          r.properties.map { p in
            .object([
              ("name", .string(p.kind.name)),
              ("status", .string(p.status.rawValue)),
              ("details", .array(p.details.map { .string($0) })),
              ("counterexample_steps", p.counterexample.map { .int($0.length) } ?? .null),
              ("trace_file", traceFiles[p.kind].map { .string($0) } ?? .null),
            ])
          })
      ),
      ("statistics", statistics(r.statistics)),
      ("coverage", r.coverage.map { coverage($0, r) } ?? .null),
    ])
  }

  /// Per statement, where it is, its text and how many transitions ran it; and the
  /// warnings about what never ran.
  static func coverage(_ c: Coverage, _ r: CheckResult) -> JSON {
    .object([
      ("counted", .bool(c.counted)),
      (
        "statements",
        .array(
          c.statements.map { s in
            .object([
              ("program", .string(r.program.spec.cpus[s.context].name)),
              ("line", .int(s.range.start.line)),
              ("column", .int(s.range.start.column)),
              ("text", .string(r.file.text(s.range))),
              ("branch", s.branch.map { .int($0 + 1) } ?? .null),
              ("count", .int(s.count)),
            ])
          })
      ),
      (
        "warnings",
        .array(
          c.warnings(r.program).map { w in
            .object([
              ("id", .string(w.id)),
              ("line", .int(w.range.start.line)),
              ("column", .int(w.range.start.column)),
              ("message", .string(w.message)),
            ])
          })
      ),
    ])
  }
}
