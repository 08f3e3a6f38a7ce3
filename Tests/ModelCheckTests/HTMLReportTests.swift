import Foundation
import Testing

@testable import ModelCheck

/// The `--html` viewer: what Swift renders (lanes, the failing step, the cycle, escaping,
/// nothing fetched from outside), and, in a real headless Chromium, what its script does
/// (the state panel, keyboard stepping) and that it draws a page.
@Suite struct HTMLReportTests {
  static func page(_ relative: String, _ kind: PropertyKind) throws -> (String, Trace, JSON) {
    let path = "Specs/" + relative
    let text = try String(contentsOf: packageRoot.appendingPathComponent(path), encoding: .utf8)
    let file = SourceFile(path: path, text: text)
    let result = Pipeline.check(try Pipeline.compile(file), file: file)
    let p = try #require(result.result(kind))
    let trace = Trace(program: result.program, counterexample: try #require(p.counterexample))
    return (
      HTMLReport.counterexample(p, trace, result), trace,
      JSONReport.counterexample(p, trace, result)
    )
  }

  static func count(_ needle: String, in s: String) -> Int {
    s.components(separatedBy: needle).count - 1
  }

  /// The text of the `<script type="application/json" id=...>` element.
  static func embedded(_ id: String, in html: String) -> String? {
    let open = "<script type=\"application/json\" id=\"\(id)\">"
    guard let start = html.range(of: open),
      let end = html.range(of: "</script>", range: start.upperBound..<html.endIndex)
    else { return nil }
    return String(html[start.upperBound..<end.lowerBound])
  }

  static let leaveAfterUnlock = "lazy-hooks/mprotect-leave-after-unlock.spec"

  @Test("one lane per CPU and per CPU's hardware; the failing step and why") func structure()
    throws
  {
    let (html, trace, json) = try Self.page(Self.leaveAfterUnlock, .noStaleRead)
    #expect(Self.count("<th class=\"lane cpu\">", in: html) == 2)
    #expect(Self.count("<th class=\"lane hw\">", in: html) == 2)
    #expect(Self.count("<th class=\"lane env\">", in: html) == 1)
    #expect(Self.count("<th class=\"lane sched\">", in: html) == 0)
    #expect(Self.count("<tr class=\"step", in: html) == trace.steps.count + 1)
    #expect(html.contains("<tr class=\"step fail\" id=\"step-10\" data-step=\"10\">"))
    #expect(Self.count(" fail\"", in: html) == 1)
    #expect(html.contains("✗ violates no_stale_read"))
    #expect(html.contains("<p id=\"why\" class=\"why\"><strong>why:</strong> cpu1 read pte a"))
    #expect(html.contains("<code class=\"op\">pte = ptep_get(a)</code>"))
    // The embedded trace is the JSON counterexample, byte for byte once parsed.
    let data = try #require(Self.embedded("trace-data", in: html))
    #expect(try JSON.parse(Array(data.utf8)) == json)
    let view = try JSON.parse(Array(try #require(Self.embedded("view-data", in: html)).utf8))
    #expect(view["failing_step"] == .int(10))
    #expect(
      view["steps"]?.arrayValue?.last?["at"] == .string("Specs/\(Self.leaveAfterUnlock):32:5"))
    // Self-contained: nothing to fetch.
    for outside in ["src=", "href=", "http:", "https:", "@import", "url("] {
      #expect(!html.contains(outside), "\(outside)")
    }
  }

  @Test("a lasso: its cycle marked, no single failing step") func lasso() throws {
    let (html, trace, _) = try Self.page(
      "xen-preserve-ad/update-intpte-unlocked-writer.spec", .cmpxchgTerminates)
    let start = try #require(trace.cycleStart)
    #expect(Self.count("<tr class=\"step cycle", in: html) == trace.steps.count - start)
    #expect(html.contains("cycle starts here: steps 5 to 8 repeat forever"))
    #expect(html.contains("back to the state before step 5"))
    #expect(!html.contains(" fail\""))
    #expect(Self.count("cmpxchg failed: retry</span>", in: html) == 3)
  }

  @Test("tasks: a scheduler lane, and a task's steps in the lane of the CPU it runs on")
  func tasks() throws {
    let (html, _, _) = try Self.page("preemption/per-cpu-lazy-migration.spec", .noStaleRead)
    #expect(Self.count("<th class=\"lane sched\">", in: html) == 1)
    #expect(Self.count("<th class=\"lane cpu\">", in: html) == 2)
    #expect(html.contains("<code class=\"op\">cpu1: switch idle -&gt; t0</code>"))
    // t0 enters lazy mode on cpu0 (the first lane) and reads on cpu1 (the third).
    let row1 = try #require(html.components(separatedBy: "id=\"step-1\"").last)
    #expect(row1.hasPrefix(" data-step=\"1\"><td class=\"num\">1</td><td class=\"cpu acted\">"))
    let row6 = try #require(html.components(separatedBy: "id=\"step-6\"").last)
    #expect(
      row6.hasPrefix(
        " data-step=\"6\"><td class=\"num\">6</td><td class=\"cpu\"></td><td class=\"hw\"></td>"
          + "<td class=\"cpu acted\">"))
  }

  @Test("text and embedded JSON are escaped") func escaping() {
    #expect(HTMLReport.escape("<b a='x'>&\"") == "&lt;b a=&#39;x&#39;&gt;&amp;&quot;")
    let json = JSON.string("</script><!-- & \u{2028}").serialized()
    let safe = HTMLReport.scriptSafe(json)
    #expect(!safe.contains("<") && !safe.contains(">") && !safe.contains("&"))
    #expect((try? JSON.parse(Array(safe.utf8))) == JSON.string("</script><!-- & \u{2028}"))
  }

  @Test("--html writes the page beside the .txt and .json") func writesFile() throws {
    let dir = try TemporaryDirectory()
    var out = ""
    let spec = packageRoot.appendingPathComponent("Specs/" + Self.leaveAfterUnlock).path
    let options = try Options.parse(["--html", "--output-dir", dir.url.path, spec])
    _ = Runner.run(options, out: { out += $0 }, err: { _ in })
    let stem = dir.url.appendingPathComponent("mprotect-leave-after-unlock.no_stale_read").path
    #expect(out.contains("trace written to \(stem).txt, .json and .html"))
    let html = try String(contentsOfFile: stem + ".html", encoding: .utf8)
    #expect(html.hasPrefix("<!DOCTYPE html>"))
    #expect(throws: Options.UsageError.self) { try Options.parse(["--html", "--no-traces", spec]) }
  }

  /// The page kept in counterexamples/examples/ is what `--html` writes now (re-record with
  /// `RECORD_SNAPSHOTS=1 swift test --filter HTMLReportTests` and review the diff).
  @Test("the committed example page is current") func examplePage() throws {
    let (html, _, _) = try Self.page(Self.leaveAfterUnlock, .noStaleRead)
    let url = packageRoot.appendingPathComponent(
      "counterexamples/examples/mprotect-leave-after-unlock.no_stale_read.html")
    if ProcessInfo.processInfo.environment["RECORD_SNAPSHOTS"] != nil {
      try html.write(to: url, atomically: true, encoding: .utf8)
      return
    }
    #expect(
      html == (try String(contentsOf: url, encoding: .utf8)),
      "the example page differs; re-record with RECORD_SNAPSHOTS=1 if intended")
  }

  // MARK: In a browser

  /// Chromium, if this machine has one (`MODELCHECK_CHROMIUM` names another binary). CI
  /// installs it and sets `MODELCHECK_REQUIRE_BROWSER=1`, so there the tests never skip.
  static let chromium: String? = {
    let env = ProcessInfo.processInfo.environment
    if let given = env["MODELCHECK_CHROMIUM"], !given.isEmpty { return given }
    let names = ["chromium", "chromium-browser", "google-chrome", "google-chrome-stable"]
    let dirs = (env["PATH"] ?? "/usr/bin:/bin").split(separator: ":").map(String.init)
    for name in names {
      for dir in dirs where FileManager.default.isExecutableFile(atPath: dir + "/" + name) {
        return dir + "/" + name
      }
    }
    return nil
  }()
  static let browserRequired =
    ProcessInfo.processInfo.environment["MODELCHECK_REQUIRE_BROWSER"]
    == "1"
  static let haveBrowser = chromium != nil || browserRequired

  /// Runs headless Chromium on `url` with `arguments`; returns its standard output.
  static func browser(_ arguments: [String], _ url: String, in dir: TemporaryDirectory) throws
    -> String
  {
    let binary = try #require(
      chromium, "no chromium binary found (apt-get install chromium, or MODELCHECK_CHROMIUM)")
    let profile = dir.url.appendingPathComponent("profile-\(UUID().uuidString)").path
    let outURL = dir.url.appendingPathComponent("browser-\(UUID().uuidString).out")
    _ = FileManager.default.createFile(atPath: outURL.path, contents: nil)
    let process = Process()
    process.executableURL = URL(fileURLWithPath: binary)
    process.arguments =
      [
        "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
        "--no-first-run", "--hide-scrollbars", "--user-data-dir=\(profile)",
      ] + arguments + [url]
    process.standardOutput = try FileHandle(forWritingTo: outURL)
    process.standardError = FileHandle.nullDevice
    try process.run()
    let deadline = Date().addingTimeInterval(60)
    while process.isRunning, Date() < deadline { usleep(20_000) }
    if process.isRunning { process.terminate() }
    process.waitUntilExit()
    return try String(contentsOf: outURL, encoding: .utf8)
  }

  static func writePage(in dir: TemporaryDirectory) throws -> String {
    let (html, _, _) = try page(leaveAfterUnlock, .noStaleRead)
    return "file://" + (try dir.write("page.html", html))
  }

  @Test(
    "in Chromium: the script selects the failing step and renders its state",
    .enabled(if: haveBrowser, "no chromium binary found: apt-get install chromium"))
  func browserRendersState() throws {
    let dir = try TemporaryDirectory()
    let dom = try Self.browser(["--dump-dom"], try Self.writePage(in: dir), in: dir)
    #expect(dom.contains("data-current=\"10\""), "\(dom.prefix(300))")
    #expect(dom.contains("<tr class=\"step fail current\" id=\"step-10\""))
    #expect(dom.contains("<h2 id=\"panel-title\">After step 10 of 10</h2>"))
    #expect(dom.contains("<h3>Locks</h3>"))
    // Step 10 stores what cpu1 read: its registers' cell is marked changed.
    #expect(dom.contains("<td class=\"changed\">ok = false; pte = present|pfn(1)</td>"))
    #expect(dom.contains("<p class=\"here-why\">cpu1 read pte a under ptl"))
    #expect(dom.contains("32 │     pte = ptep_get(a)"))
  }

  @Test(
    "in Chromium: ?step= and key presses move the current step",
    .enabled(if: haveBrowser, "no chromium binary found: apt-get install chromium"))
  func browserKeyboard() throws {
    let dir = try TemporaryDirectory()
    let url = try Self.writePage(in: dir) + "?step=3&keys=j,j,ArrowUp,ArrowDown,k"
    let dom = try Self.browser(["--dump-dom"], url, in: dir)
    #expect(dom.contains("data-current=\"4\""), "\(dom.prefix(300))")
    #expect(dom.contains("<tr class=\"step current\" id=\"step-4\""))
    #expect(dom.contains("<h2 id=\"panel-title\">After step 4 of 10</h2>"))
    #expect(Self.count(" current\"", in: dom) == 1)
    let home = try Self.browser(["--dump-dom"], try Self.writePage(in: dir) + "?keys=Home", in: dir)
    #expect(home.contains("<h2 id=\"panel-title\">Initial state</h2>"))
  }

  @Test(
    "in Chromium: a screenshot of the page",
    .enabled(if: haveBrowser, "no chromium binary found: apt-get install chromium"))
  func browserScreenshot() throws {
    let dir = try TemporaryDirectory()
    let png = dir.url.appendingPathComponent("page.png")
    _ = try Self.browser(
      ["--screenshot=\(png.path)", "--window-size=1400,900"], try Self.writePage(in: dir),
      in: dir)
    let bytes = [UInt8](try Data(contentsOf: png))
    // The PNG signature, then the IHDR chunk: width and height, big-endian.
    #expect(bytes.starts(with: [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]))
    try #require(bytes.count > 24)
    let width = bytes[16..<20].reduce(0) { $0 << 8 | Int($1) }
    let height = bytes[20..<24].reduce(0) { $0 << 8 | Int($1) }
    #expect(width == 1400 && height == 900)
    // A blank page compresses to a few KiB; the swimlane and the panel do not.
    #expect(bytes.count > 40_000, "\(bytes.count) bytes")
  }
}
