/// One spec as a JUnit `<testsuite>`: its counts and its element, built where the spec is
/// checked (in the child with isolation) and assembled into the document by the parent.
public struct JUnitSuite: Sendable, Equatable {
  public var tests = 0
  public var failures = 0
  public var errors = 0
  public var skipped = 0
  public var seconds = 0.0
  /// The complete `<testsuite>` element, indented for its place in `<testsuites>`.
  public var xml = ""
}

/// The JUnit XML report (`--junit FILE`), in the shape CI systems read (Jenkins' xunit
/// schema; `Tests/ModelCheckTests/Fixtures/junit.xsd` is the subset it is checked
/// against). One `<testsuite>` per spec, named by its path; one `<testcase>` per checked
/// property (classname the spec path, name the property):
///
/// - a verdict as expected passes (an expected failure keeps its counterexample in
///   `<system-out>`);
/// - a verdict that differs from `expect` is a `<failure>` (the counterexample and its
///   why-sentence, or the summary for a pass that should have failed);
/// - an incomplete verdict is `<skipped>` (nothing was decided; the exit status says 3);
/// - a spec error, runtime fault or crash is an `<error>` in a testcase named `(spec)`,
///   and a spec an interrupt kept from starting is a `(spec)` testcase `<skipped>`.
public enum JUnitReport {
  /// The name of the testcase that stands for the spec as a whole.
  public static let specCase = "(spec)"

  public enum Result: Sendable {
    case passed(output: String?)
    case failure(message: String, type: String, text: String)
    case error(message: String, type: String, text: String)
    case skipped(message: String)
  }

  public struct Case: Sendable {
    public var name: String
    public var result: Result
  }

  /// Where and when a suite ran (`timestamp`: UTC, `YYYY-MM-DDThh:mm:ss`).
  public struct Context: Sendable {
    public var timestamp: String
    public var hostname: String
    public init(timestamp: String, hostname: String) {
      self.timestamp = timestamp
      self.hostname = hostname
    }
  }

  /// A checked spec. `counterexamples`: the text of each failing property's trace (table
  /// and why); `fault`: the rendered runtime fault, if the run stopped at one.
  public static func checked(
    _ r: CheckResult, counterexamples: [PropertyKind: String], fault: String?,
    _ context: Context
  ) -> JUnitSuite {
    let summary = TextReport.summary(r)
    var cases: [Case] = []
    if let fault {
      let message = fault.split(separator: "\n").first.map(String.init) ?? "a runtime fault"
      cases.append(
        Case(
          name: specCase,
          result: .error(message: message, type: "check.runtime-fault", text: fault)))
    }
    let expected = r.expectation.failing
    for p in r.properties {
      let name = p.kind.name
      let trace = counterexamples[p.kind]
      let result: Result
      switch p.status {
      case .incomplete:
        let why = r.stopReason.map { "\($0.message); " } ?? ""
        result = .skipped(message: "incomplete: \(why)not verified")
      case .fail where expected.contains(p.kind):
        result = .passed(output: trace)
      case .fail:
        result = .failure(
          message: "\(name) fails, but the spec expects it to pass", type: "differs",
          text: trace ?? summary)
      case .pass where expected.contains(p.kind):
        result = .failure(
          message: "\(name) passes, but the spec expects it to fail", type: "differs",
          text: summary)
      case .pass:
        result = .passed(output: nil)
      }
      cases.append(Case(name: name, result: result))
    }
    let s = r.statistics
    return suite(
      r.file.path, cases, seconds: s.seconds + s.livenessSeconds, output: summary, context)
  }

  /// A spec that could not be checked: a spec error (`message` is its first diagnostic
  /// as `file:line:col: message`, `text` every diagnostic), or a crash of the checker.
  public static func error(
    _ path: String, message: String, type: String, text: String, _ context: Context
  ) -> JUnitSuite {
    let c = Case(name: specCase, result: .error(message: message, type: type, text: text))
    return suite(path, [c], seconds: 0, output: nil, context)
  }

  /// A spec an interrupt kept from starting.
  public static func notRun(_ path: String, reason: String, _ context: Context) -> JUnitSuite {
    let c = Case(name: specCase, result: .skipped(message: "not run: \(reason)"))
    return suite(path, [c], seconds: 0, output: nil, context)
  }

  public static func suite(
    _ path: String, _ cases: [Case], seconds: Double, output: String?, _ context: Context
  ) -> JUnitSuite {
    var s = JUnitSuite(tests: cases.count, seconds: seconds)
    var body = ""
    for c in cases {
      let open = "    <testcase classname=\"\(attribute(path))\" name=\"\(attribute(c.name))\""
      switch c.result {
      case .passed(let output):
        if let output {
          body += open + ">\n      <system-out>\(text(output))</system-out>\n    </testcase>\n"
        } else {
          body += open + "/>\n"
        }
      case .failure(let message, let type, let detail):
        s.failures += 1
        body += open + ">\n" + element("failure", message, type, detail) + "    </testcase>\n"
      case .error(let message, let type, let detail):
        s.errors += 1
        body += open + ">\n" + element("error", message, type, detail) + "    </testcase>\n"
      case .skipped(let message):
        s.skipped += 1
        body += open + ">\n      <skipped message=\"\(attribute(message))\"/>\n    </testcase>\n"
      }
    }
    if let output { body += "    <system-out>\(text(output))</system-out>\n" }
    s.xml =
      "  <testsuite name=\"\(attribute(path))\" tests=\"\(s.tests)\" failures=\"\(s.failures)\""
      + " errors=\"\(s.errors)\" skipped=\"\(s.skipped)\" time=\"\(time(seconds))\""
      + " timestamp=\"\(attribute(context.timestamp))\""
      + " hostname=\"\(attribute(context.hostname))\">\n" + body + "  </testsuite>\n"
    return s
  }

  /// The whole report. `<testsuites>` carries the totals Jenkins' schema allows there
  /// (no `skipped`: each `<testsuite>` has its own).
  public static func document(_ suites: [JUnitSuite]) -> String {
    let sum = { (f: (JUnitSuite) -> Int) in suites.reduce(0) { $0 + f($1) } }
    let seconds = suites.reduce(0) { $0 + $1.seconds }
    return "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
      + "<testsuites name=\"modelcheck\" tests=\"\(sum(\.tests))\""
      + " failures=\"\(sum(\.failures))\" errors=\"\(sum(\.errors))\""
      + " time=\"\(time(seconds))\">\n" + suites.map(\.xml).joined() + "</testsuites>\n"
  }

  private static func element(_ tag: String, _ message: String, _ type: String, _ detail: String)
    -> String
  {
    "      <\(tag) message=\"\(attribute(message))\" type=\"\(attribute(type))\">"
      + "\(text(detail))</\(tag)>\n"
  }

  /// Seconds with three decimals (the schema's time type allows no more).
  static func time(_ t: Double) -> String { JSON.decimal(max(t, 0), places: 3) }

  /// Character data: `&`, `<`, `>` escaped; characters XML 1.0 cannot hold replaced.
  static func text(_ s: String) -> String { escape(s, attribute: false) }

  /// An attribute value in double quotes: also `"`, and line ends and tabs as character
  /// references (a parser would otherwise normalise them to spaces).
  static func attribute(_ s: String) -> String { escape(s, attribute: true) }

  private static func escape(_ s: String, attribute: Bool) -> String {
    var out = ""
    for u in s.unicodeScalars {
      switch u {
      case "&": out += "&amp;"
      case "<": out += "&lt;"
      case ">": out += "&gt;"
      case "\"" where attribute: out += "&quot;"
      case "\n" where attribute: out += "&#10;"
      case "\r": out += "&#13;"
      case "\t" where attribute: out += "&#9;"
      case "\n", "\t": out.unicodeScalars.append(u)
      default:
        // XML 1.0 has no other control characters, nor U+FFFE and U+FFFF.
        let v = u.value
        out.unicodeScalars.append(v < 0x20 || v == 0xFFFE || v == 0xFFFF ? "\u{FFFD}" : u)
      }
    }
    return out
  }
}
