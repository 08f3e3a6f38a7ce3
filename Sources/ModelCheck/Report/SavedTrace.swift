import PTState

/// A counterexample read back from its JSON file (`modelcheck.counterexample/1`, written by
/// `JSONReport.counterexample`): what `modelcheck replay` needs of it. Reading checks the
/// form; the names in each step's `action` are looked up in a program later (`resolve`),
/// because a name the edited spec lacks is a divergence, not a broken file.
public struct SavedTrace: Sendable {
  public struct FormatError: Error, Sendable, Equatable {
    public var message: String
  }

  /// A step's action by the names of what it acts on (docs/json-format.md, "Step").
  public enum SavedAction: Sendable, Equatable {
    case step(program: String, branch: Int)
    case hardwareAccess(cpu: String, pte: String, access: AccessKind)
    case tlbEvict(cpu: String, pte: String)
    case earlyFlush(cpu: String)
    case shootdownIPI(cpu: String, pte: String)
    case contextSwitch(cpu: String, to: String?)
    case interrupt(handler: String)
  }

  public struct Step: Sendable {
    public var action: SavedAction
    public var operation: String
    public var line: Int?
  }

  public var spec: String
  public var property: PropertyKind
  /// For a lasso, the index (0-based) of the cycle's first step.
  public var cycleStart: Int?
  public var steps: [Step]

  /// Reads a trace file's text.
  public static func read(_ bytes: [UInt8]) throws(FormatError) -> SavedTrace {
    let json: JSON
    do {
      json = try JSON.parse(bytes)
    } catch {
      throw FormatError(message: "not valid JSON: \(error.description)")
    }
    return try read(json)
  }

  public static func read(_ json: JSON) throws(FormatError) -> SavedTrace {
    func fail(_ m: String) -> FormatError { FormatError(message: m) }
    guard case .object = json else { throw fail("not a JSON object") }
    let schema = JSONReport.counterexampleSchema
    guard let s = json["schema"]?.stringValue else {
      throw fail("no \"schema\": not a \(schema) trace")
    }
    guard s == schema else { throw fail("schema \"\(s)\" is not \(schema)") }
    guard let name = json["property"]?.stringValue else { throw fail("no \"property\"") }
    guard let property = PropertyKind(name: name) else {
      throw fail("unknown property \"\(name)\"")
    }
    guard let kind = json["kind"]?.stringValue, kind == "run" || kind == "lasso" else {
      throw fail("\"kind\" must be \"run\" or \"lasso\"")
    }
    guard let items = json["steps"]?.arrayValue else { throw fail("no \"steps\" array") }
    var steps: [Step] = []
    for (i, item) in items.enumerated() {
      do {
        steps.append(try step(item, index: i + 1))
      } catch {
        throw fail("step \(i + 1): \(error.message)")
      }
    }
    var cycleStart: Int?
    if kind == "lasso" {
      guard let c = json["cycle_start"]?.intValue, c >= 1, c <= steps.count else {
        throw fail("a lasso's \"cycle_start\" must be a step index from 1 to \(steps.count)")
      }
      cycleStart = c - 1
    }
    return SavedTrace(
      spec: json["spec"]?.stringValue ?? "", property: property, cycleStart: cycleStart,
      steps: steps)
  }

  static func step(_ item: JSON, index: Int) throws(FormatError) -> Step {
    func fail(_ m: String) -> FormatError { FormatError(message: m) }
    guard case .object = item else { throw fail("not an object") }
    guard item["index"]?.intValue == index else { throw fail("\"index\" is not \(index)") }
    guard let a = item["action"] else {
      throw fail(
        "no \"action\" object (the trace was written by an older modelcheck: check the spec "
          + "again to write it anew)")
    }
    guard case .object = a, let kind = a["kind"]?.stringValue else {
      throw fail("\"action\" has no \"kind\"")
    }
    func name(_ key: String) throws(FormatError) -> String {
      guard let v = a[key]?.stringValue else {
        throw fail("a \(kind) action needs a string \"\(key)\"")
      }
      return v
    }
    let action: SavedAction
    switch kind {
    case "step":
      guard let b = a["branch"]?.intValue, b >= 0, b <= Int(UInt8.max) else {
        throw fail("a step action needs a \"branch\" from 0 to 255")
      }
      action = .step(program: try name("program"), branch: b)
    case "hardware_access":
      let access = try name("access")
      guard access == "read" || access == "write" else {
        throw fail("\"access\" must be \"read\" or \"write\"")
      }
      action = .hardwareAccess(
        cpu: try name("cpu"), pte: try name("pte"), access: access == "write" ? .write : .read)
    case "tlb_evict": action = .tlbEvict(cpu: try name("cpu"), pte: try name("pte"))
    case "early_flush": action = .earlyFlush(cpu: try name("cpu"))
    case "shootdown_ipi": action = .shootdownIPI(cpu: try name("cpu"), pte: try name("pte"))
    case "context_switch":
      guard let to = a["to"], to.isNull || to.stringValue != nil else {
        throw fail("a context_switch action needs \"to\": a task's name or null")
      }
      action = .contextSwitch(cpu: try name("cpu"), to: to.stringValue)
    case "interrupt": action = .interrupt(handler: try name("program"))
    default: throw fail("unknown action kind \"\(kind)\"")
    }
    guard let operation = item["operation"]?.stringValue else {
      throw fail("no \"operation\" string")
    }
    return Step(action: action, operation: operation, line: item["location"]?["line"]?.intValue)
  }

  /// The action of `program` a saved step names, or why the spec has none.
  public static func resolve(_ saved: SavedAction, in program: Program) -> ReplayStep {
    let spec = program.spec
    func cpu(_ n: String) -> Int? { spec.cpuNames.firstIndex(of: n) }
    func pte(_ n: String) -> Int? { spec.pteNames.firstIndex(of: n) }
    func task(_ n: String) -> Int? { spec.cpus.firstIndex { $0.name == n } }
    let meaning: Action.Meaning
    let what: String
    switch saved {
    case .step(let k, let branch):
      guard let i = task(k) else { return .missing("the spec has no program \(k)") }
      meaning = .step(program: i, branch: branch)
      what = "a step of \(k) taking branch \(branch + 1)"
    case .hardwareAccess(let c, let x, let access):
      guard let ci = cpu(c) else { return .missing("the spec has no CPU \(c)") }
      guard let pi = pte(x) else { return .missing("the spec has no PTE \(x)") }
      meaning = .hardwareAccess(cpu: ci, pte: pi, kind: access)
      let verb = access == .write ? "write" : "read"
      what = "\(c)'s hardware \(verb) through \(x) (no `hardware` line declares it)"
    case .tlbEvict(let c, let x):
      guard let ci = cpu(c) else { return .missing("the spec has no CPU \(c)") }
      guard let pi = pte(x) else { return .missing("the spec has no PTE \(x)") }
      meaning = .tlbEvict(cpu: ci, pte: pi)
      what = "an eviction of \(x) from \(c)'s TLB (\(c) has no TLB slot for \(x))"
    case .earlyFlush(let c):
      guard let ci = cpu(c) else { return .missing("the spec has no CPU \(c)") }
      meaning = .earlyFlush(cpu: ci)
      what = "an early flush of \(c)'s batch (\(c) has no lazy batch)"
    case .shootdownIPI(let c, let x):
      guard let ci = cpu(c) else { return .missing("the spec has no CPU \(c)") }
      guard let pi = pte(x) else { return .missing("the spec has no PTE \(x)") }
      meaning = .shootdownIPI(cpu: ci, pte: pi)
      what = "a shootdown IPI for \(x) on \(c)"
    case .contextSwitch(let c, let to):
      guard let ci = cpu(c) else { return .missing("the spec has no CPU \(c)") }
      var ti: Int?
      if let to {
        guard let t = task(to) else { return .missing("the spec has no task \(to)") }
        ti = t
      }
      meaning = .contextSwitch(cpu: ci, to: ti)
      what = "a switch of \(c) to \(to ?? "idle")"
    case .interrupt(let h):
      guard let i = task(h) else { return .missing("the spec has no interrupt handler \(h)") }
      meaning = .interrupt(handler: i)
      what = "interrupt \(h) firing"
    }
    let action = Action(meaning)
    guard let index = program.actions.firstIndex(of: action) else {
      return .missing("the spec has no such action: \(what)")
    }
    return .action(index)
  }
}
