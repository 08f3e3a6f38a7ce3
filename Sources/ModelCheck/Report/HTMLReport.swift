import PTState

/// A counterexample as one self-contained HTML page (`--html`): no network, no external
/// assets. Swift renders the header, the why-sentence and the swimlane (one column per CPU
/// for its programs' steps, one per CPU's hardware, one for the hypervisor or environment,
/// one for the scheduler when the trace switches tasks); the page embeds the JSON
/// counterexample (`JSONReport.counterexample`) and a small view record, from which its
/// script renders the state panel of the selected step. Keys: j/k or the arrow keys step,
/// Home/End jump, f selects the failing step; `?step=N` selects step N on load and
/// `?keys=j,j,k` replays key presses on load (for links and for tests).
public enum HTMLReport {
  /// Where a step goes in the swimlane.
  struct Lane {
    enum Kind: String { case cpu, hw, env, sched }
    var kind: Kind
    var cpu: Int
    var title: String
    var subtitle: String
  }

  public static func counterexample(_ prop: PropertyResult, _ trace: Trace, _ r: CheckResult)
    -> String
  {
    let p = r.program
    let spec = p.spec
    let lanes = self.lanes(trace, p)
    let laneOf = trace.steps.map { lane(of: $0, lanes, p) }
    let failing = failingStep(prop.kind, trace)
    let why = Explanation.why(prop.kind, trace, p)
    let n = trace.steps.count
    let kind: String
    switch prop.counterexample {
    case .lasso: kind = "livelock: a prefix, then a cycle that repeats forever"
    default:
      kind =
        prop.kind == .cmpxchgTerminates ? "run over the retry bound" : "shortest counterexample"
    }
    let file = r.file.path.split(separator: "/").last.map(String.init) ?? r.file.path

    var html = """
      <!DOCTYPE html>
      <html lang="en">
      <head>
      <meta charset="utf-8">
      <meta name="viewport" content="width=device-width, initial-scale=1">
      <title>FAIL \(escape(prop.kind.name)) — \(escape(file))</title>
      <style>\(style)</style>
      </head>
      <body data-current="\(failing ?? 0)">
      <header>
      <h1><span class="verdict">FAIL</span> <span id="property">\(escape(prop.kind.name))</span>\
       <span class="shape">\(escape(kind)), \(n) \(n == 1 ? "step" : "steps")</span></h1>
      <p class="meta"><span class="path">\(escape(r.file.path))</span>\
      \(spec.title.isEmpty ? "" : " — " + escape(spec.title))<br>mode \(spec.mode.rawValue) · \
      cpus \(escape(spec.cpuNames.joined(separator: ", "))) · \
      programs \(escape(spec.cpus.map(\.name).joined(separator: ", "))) · \
      batch limit \(spec.batchLimit)</p>
      <p id="why" class="why"><strong>why:</strong> \(escape(why))</p>
      </header>
      <main>
      <section id="lanes-view">
      <table id="swimlane">
      <thead><tr><th class="num">#</th>
      """
    for l in lanes {
      html +=
        "<th class=\"lane \(l.kind.rawValue)\">\(escape(l.title))"
        + (l.subtitle.isEmpty ? "" : "<small>\(escape(l.subtitle))</small>") + "</th>"
    }
    html += "</tr></thead>\n<tbody>\n"
    let initial = spec.pteNames.enumerated().map {
      "\($0.element) = \(trace.initial.mem[$0.offset])"
    }
    html +=
      "<tr class=\"step initial\(failing == 0 ? " fail" : "")\" id=\"step-0\" data-step=\"0\">"
      + "<td class=\"num\">0</td><td class=\"initial-cell\" colspan=\"\(lanes.count)\">"
      + "<span class=\"op\">initial state</span> <span class=\"effects\">"
      + escape(initial.joined(separator: "; ")) + "</span>"
      + (failing == 0 ? badge("violates \(prop.kind.name)") : "") + "</td></tr>\n"
    for (i, s) in trace.steps.enumerated() {
      let number = i + 1
      if i == trace.cycleStart {
        html +=
          "<tr class=\"marker cycle-start\"><td class=\"num\">↻</td>"
          + "<td colspan=\"\(lanes.count)\">cycle starts here: steps \(number) to \(n) repeat "
          + "forever</td></tr>\n"
      }
      var classes = ["step"]
      if let c = trace.cycleStart, i >= c { classes.append("cycle") }
      if failing == number { classes.append("fail") }
      if s.retried { classes.append("retry") }
      html +=
        "<tr class=\"\(classes.joined(separator: " "))\" id=\"step-\(number)\" "
        + "data-step=\"\(number)\"><td class=\"num\">\(number)</td>"
      for (li, l) in lanes.enumerated() {
        guard li == laneOf[i] else {
          html += "<td class=\"\(l.kind.rawValue)\"></td>"
          continue
        }
        var cell = "<td class=\"\(l.kind.rawValue) acted\">"
        if case .step(let k, _) = s.action.meaning, spec.cpus[k].name != spec.cpuNames[l.cpu] {
          cell += "<span class=\"who\">\(escape(spec.cpus[k].name))</span> "
        }
        cell += "<code class=\"op\">\(escape(s.operation))</code>"
        if let at = s.location {
          cell += "<span class=\"at\">line \(at.start.line)</span>"
        }
        if !s.effects.isEmpty {
          cell += "<span class=\"effects\">\(escape(s.effects.joined(separator: "; ")))</span>"
        }
        if s.retried { cell += "<span class=\"tag retry-tag\">cmpxchg failed: retry</span>" }
        if failing == number { cell += badge(failText(prop.kind, s)) }
        html += cell + "</td>"
      }
      html += "</tr>\n"
    }
    if let c = trace.cycleStart {
      html +=
        "<tr class=\"marker cycle-end\"><td class=\"num\">↺</td>"
        + "<td colspan=\"\(lanes.count)\">back to the state before step \(c + 1): the cycle "
        + "repeats</td></tr>\n"
    }
    html += """
      </tbody>
      </table>
      <p class="keys">Keys: <kbd>j</kbd>/<kbd>↓</kbd> next step · <kbd>k</kbd>/<kbd>↑</kbd> \
      previous · <kbd>Home</kbd>/<kbd>End</kbd> first/last · <kbd>f</kbd> the failing step · \
      or click a step.</p>
      </section>
      <aside id="panel">
      <h2 id="panel-title">State</h2>
      <div id="detail"></div>
      <div id="state"><noscript>The state panel needs JavaScript; the swimlane is \
      complete without it, and the same trace is in the .json file.</noscript></div>
      </aside>
      </main>

      """
    let view = JSON.object([
      ("spec_file", .string(r.file.path)),
      ("failing_step", failing.map { .int($0) } ?? .null),
      // Selected on load: the failing step, else the cycle's first step.
      ("start_step", .int(failing ?? trace.cycleStart.map { $0 + 1 } ?? 0)),
      (
        "steps",
        .array(
          trace.steps.map { s in
            .object([
              ("source", s.location.map { .string(String(r.file.line($0.start.line))) } ?? .null),
              (
                "at",
                s.location.map {
                  .string("\(r.file.path):\($0.start.line):\($0.start.column)")
                } ?? .null
              ),
            ])
          })
      ),
    ])
    let data = JSONReport.counterexample(prop, trace, r)
    html +=
      "<script type=\"application/json\" id=\"trace-data\">"
      + scriptSafe(data.serialized(pretty: false)) + "</script>\n"
      + "<script type=\"application/json\" id=\"view-data\">"
      + scriptSafe(view.serialized(pretty: false)) + "</script>\n"
      + "<script>\(script)</script>\n</body>\n</html>\n"
    return html
  }

  /// The step where the property broke: the first that raised it, else the last step (a
  /// deadlock, a leak at the end, a run over the retry bound); nil for a lasso, whose cycle
  /// is the failure. 0 for a violating initial state.
  static func failingStep(_ kind: PropertyKind, _ trace: Trace) -> Int? {
    if trace.cycleStart != nil { return nil }
    if let i = trace.steps.firstIndex(where: { $0.violations & kind.bit != 0 }) { return i + 1 }
    return trace.steps.count
  }

  static func failText(_ kind: PropertyKind, _ s: TraceStep) -> String {
    if s.violations & kind.bit != 0 { return "violates \(kind.name)" }
    switch kind {
    case .deadlockFree: return "after this step nothing can move: deadlock"
    case .noPTLeak: return "every program has finished; page-table pages still allocated"
    case .cmpxchgTerminates: return "a retry past the declared bound"
    default: return "violates \(kind.name)"
    }
  }

  static func badge(_ text: String) -> String { "<span class=\"badge\">✗ \(escape(text))</span>" }

  static func lanes(_ trace: Trace, _ p: Program) -> [Lane] {
    let spec = p.spec
    var lanes: [Lane] = []
    for (c, name) in spec.cpuNames.enumerated() {
      let pinned = spec.cpus.filter { $0.pinnedCPU == c }.map(\.name)
      let others = pinned == [name] ? "" : pinned.joined(separator: ", ")
      lanes.append(Lane(kind: .cpu, cpu: c, title: name, subtitle: others))
      lanes.append(Lane(kind: .hw, cpu: c, title: "\(name) hardware", subtitle: "TLB, walks"))
    }
    let hasEnvironment = trace.steps.contains {
      $0.action.kind == .earlyFlush || $0.action.kind == .interrupt
    }
    if spec.mode != .native || hasEnvironment {
      let title = spec.mode == .native ? "environment" : "hypervisor"
      lanes.append(Lane(kind: .env, cpu: 0, title: title, subtitle: "early flush, interrupts"))
    }
    if trace.steps.contains(where: { $0.action.kind == .contextSwitch }) {
      lanes.append(Lane(kind: .sched, cpu: 0, title: "scheduler", subtitle: "context switches"))
    }
    return lanes
  }

  /// The lane of a step: a program's step (or an IPI it handles) in the column of the CPU
  /// it runs on, a hardware action in that CPU's hardware column, the rest in theirs.
  static func lane(of s: TraceStep, _ lanes: [Lane], _ p: Program) -> Int {
    func find(_ kind: Lane.Kind, _ c: Int?) -> Int {
      lanes.firstIndex { $0.kind == kind && (c == nil || $0.cpu == c) } ?? 0
    }
    switch s.action.meaning {
    case .step(let k, _): return find(.cpu, s.before.contexts[k].cpu ?? 0)
    case .shootdownIPI(let c, _): return find(.cpu, c)
    case .hardwareAccess(let c, _, _), .tlbEvict(let c, _): return find(.hw, c)
    case .earlyFlush, .interrupt: return find(.env, nil)
    case .contextSwitch: return find(.sched, nil)
    }
  }

  /// Text for HTML element content and attribute values.
  static func escape(_ s: String) -> String {
    var out = ""
    out.reserveCapacity(s.utf8.count)
    for ch in s.unicodeScalars {
      switch ch {
      case "&": out += "&amp;"
      case "<": out += "&lt;"
      case ">": out += "&gt;"
      case "\"": out += "&quot;"
      case "'": out += "&#39;"
      default: out.unicodeScalars.append(ch)
      }
    }
    return out
  }

  /// JSON text that cannot end its `<script>` element: `<`, `>` and `&` occur only inside
  /// JSON strings, where their `\u` escapes mean the same.
  static func scriptSafe(_ json: String) -> String {
    var out = ""
    for ch in json.unicodeScalars {
      switch ch {
      case "<": out += "\\u003c"
      case ">": out += "\\u003e"
      case "&": out += "\\u0026"
      case "\u{2028}": out += "\\u2028"
      case "\u{2029}": out += "\\u2029"
      default: out.unicodeScalars.append(ch)
      }
    }
    return out
  }

  static let style = """

    :root { --fg: #1d2330; --dim: #667085; --line: #d8dde6; --cpu: #e8f0fe; --hw: #eef6f0;
      --env: #fff3e0; --sched: #f3e8fd; --fail: #fde8e8; --failline: #d92d20; --cur: #fff7c2;
      --cycle: #7a3ff2; }
    * { box-sizing: border-box; }
    body { margin: 0; font: 14px/1.4 system-ui, -apple-system, "Segoe UI", sans-serif;
      color: var(--fg); background: #f7f8fa; }
    header { padding: 14px 20px 10px; background: #fff; border-bottom: 1px solid var(--line); }
    h1 { margin: 0 0 4px; font-size: 20px; }
    h1 .verdict { background: var(--failline); color: #fff; border-radius: 4px;
      padding: 1px 8px; font-size: 15px; vertical-align: 2px; }
    h1 #property { font-family: ui-monospace, "DejaVu Sans Mono", monospace; }
    h1 .shape { font-weight: normal; color: var(--dim); font-size: 14px; }
    .meta { margin: 0 0 8px; color: var(--dim); }
    .meta .path { font-family: ui-monospace, "DejaVu Sans Mono", monospace; color: var(--fg); }
    .why { margin: 0; padding: 8px 12px; background: var(--fail);
      border-left: 4px solid var(--failline); border-radius: 4px; }
    main { display: flex; align-items: flex-start; gap: 16px; padding: 14px 20px; }
    #lanes-view { flex: 1 1 auto; min-width: 0; overflow-x: auto; }
    table { border-collapse: collapse; }
    #swimlane { width: 100%; background: #fff;
      border: 1px solid var(--line); }
    #swimlane th { position: sticky; top: 0; z-index: 1; text-align: left; padding: 6px 8px;
      font-size: 13px; border-bottom: 2px solid var(--line); }
    #swimlane th small { display: block; font-weight: normal; color: var(--dim); }
    #swimlane th.num, #swimlane td.num { width: 38px; text-align: right; color: var(--dim);
      background: #fff; }
    th.cpu { background: var(--cpu); } th.hw { background: var(--hw); }
    th.env { background: var(--env); } th.sched { background: var(--sched); }
    #swimlane td { vertical-align: top; padding: 5px 8px; border-top: 1px solid #eef0f4;
      border-left: 1px solid #f0f2f5; }
    #swimlane td.cpu { min-width: 160px; } #swimlane td.hw { min-width: 90px; }
    td.acted.cpu { background: #f4f8ff; } td.acted.hw { background: #f5faf6; }
    td.acted.env { background: #fff8ee; } td.acted.sched { background: #faf4ff; }
    tr.step { cursor: pointer; }
    tr.step:hover td { filter: brightness(0.98); }
    code.op, .op { font-family: ui-monospace, "DejaVu Sans Mono", monospace; font-size: 12.5px;
      font-weight: 600; }
    .at { margin-left: 6px; color: var(--dim); font-size: 11.5px; white-space: nowrap; }
    .effects { display: block; color: #475467; font-size: 11.5px; }
    .initial-cell .effects { display: inline; }
    .who { background: #dbe6fb; border-radius: 3px; padding: 0 4px; font-size: 11.5px; }
    .badge { display: inline-block; margin-top: 3px; background: var(--failline); color: #fff;
      border-radius: 3px; padding: 1px 6px; font-size: 11.5px; font-weight: 600; }
    .tag { display: inline-block; margin-top: 3px; border-radius: 3px; padding: 0 5px;
      font-size: 11px; background: #ede4ff; color: #4b2a99; }
    tr.fail td { background: var(--fail) !important; }
    tr.fail td.num { color: var(--failline); font-weight: 700; }
    tr.cycle td.num { border-left: 4px solid var(--cycle); }
    tr.cycle td { background-image: linear-gradient(#7a3ff20d, #7a3ff20d); }
    tr.marker td { background: #f4efff; color: #4b2a99; font-size: 12px; font-weight: 600;
      padding: 3px 8px; cursor: default; }
    tr.current td { background: var(--cur) !important; }
    tr.current.fail td { background: #fbd3cd !important; }
    tr.current td.num { color: var(--fg); font-weight: 700; box-shadow: inset 3px 0 #e8a300; }
    .keys { color: var(--dim); font-size: 12px; }
    kbd { border: 1px solid #c9ced8; border-bottom-width: 2px; border-radius: 3px;
      padding: 0 4px; font-size: 11px; background: #fff; }
    #panel { flex: 0 0 410px; position: sticky; top: 10px; max-height: calc(100vh - 20px);
      overflow-y: auto; background: #fff; border: 1px solid var(--line); border-radius: 6px;
      padding: 10px 14px; }
    #panel h2 { margin: 0 0 6px; font-size: 16px; }
    #panel h3 { margin: 12px 0 4px; font-size: 12px; text-transform: uppercase;
      letter-spacing: .04em; color: var(--dim); }
    #detail pre { margin: 4px 0; padding: 4px 8px; background: #f4f5f7; border-radius: 4px;
      font: 12.5px ui-monospace, "DejaVu Sans Mono", monospace; white-space: pre;
      overflow-x: auto; }
    #detail .at { margin: 0; }
    #detail ul { margin: 4px 0; padding-left: 18px; font-size: 12.5px; }
    #detail .here-why { padding: 6px 8px; background: var(--fail);
      border-left: 3px solid var(--failline); font-size: 12.5px; }
    #state table { width: 100%; font-size: 12.5px; }
    #state th { text-align: left; font-weight: 600; color: var(--dim); padding: 2px 6px;
      border-bottom: 1px solid var(--line); }
    #state td { padding: 2px 6px; border-bottom: 1px solid #f0f2f5; vertical-align: top;
      font-family: ui-monospace, "DejaVu Sans Mono", monospace; overflow-wrap: break-word; }
    #state td:first-child, #state td.short { white-space: nowrap; }
    #state td.changed { background: #fff1b8; box-shadow: inset 3px 0 #e8a300; }
    .none { color: #98a2b3; }

    """

  static let script = """

    "use strict";
    (function () {
      const trace = JSON.parse(document.getElementById("trace-data").textContent);
      const view = JSON.parse(document.getElementById("view-data").textContent);
      const steps = trace.steps;
      const last = steps.length;
      let current = 0;

      function el(tag, cls, text) {
        const e = document.createElement(tag);
        if (cls) e.className = cls;
        if (text !== undefined) e.textContent = text;
        return e;
      }
      function stateAt(i) { return i === 0 ? trace.initial : steps[i - 1].state; }
      function same(a, b) { return JSON.stringify(a) === JSON.stringify(b); }
      function table(title, head, rows, container) {
        if (rows.length === 0) return;
        container.appendChild(el("h3", "", title));
        const t = el("table");
        const tr = el("tr");
        head.forEach(h => tr.appendChild(el("th", "", h)));
        t.appendChild(tr);
        rows.forEach(r => {
          const row = el("tr");
          r.forEach(([text, changed, cls]) => {
            const classes = [changed ? "changed" : "", cls || ""].filter(c => c);
            const td = el("td", classes.join(" "), text);
            row.appendChild(td);
          });
          t.appendChild(row);
        });
        container.appendChild(t);
      }
      function batchText(b) {
        if (b.length === 0) return "[]";
        return "[" + b.map(e => e.kind === "flush_tlb" ? "flush_tlb(" + e.pte + ")"
          : e.pte + " <- " + e.value + (e.preserve_ad ? " (preserve A/D)" : "")
            + " by " + e.by).join(", ") + "]";
      }
      function renderState(s, prev, box) {
        box.textContent = "";
        const ch = (a, b) => prev !== null && !same(a, b);
        const ptes = Object.keys(s.ptes);
        const shadow = ptes.some(n => "shadow" in s.ptes[n]);
        table("Page-table entries", shadow ? ["pte", "value", "shadow", "logical"]
          : ["pte", "value", "logical"], ptes.map(n => {
          const x = s.ptes[n], y = prev ? prev.ptes[n] : x;
          const row = [[n, false, "pte-name"], [x.value, ch(x.value, y.value)]];
          if (shadow) row.push([x.shadow, ch(x.shadow, y.shadow)]);
          row.push([x.logical, ch(x.logical, y.logical), x.logical === x.value ? "none" : ""]);
          return row;
        }), box);
        table("Locks", ["lock", "held by"], Object.keys(s.locks).map(n => [[n, false],
          [s.locks[n] === null ? "free" : s.locks[n], ch(s.locks[n], prev && prev.locks[n]),
            s.locks[n] === null ? "none" : ""]]), box);
        table("CPUs", ["cpu", "runs", "lazy", "batch", "TLB"], Object.keys(s.cpus).map(n => {
          const x = s.cpus[n], y = prev ? prev.cpus[n] : x;
          const tlb = Object.keys(x.tlb).map(p => p + ": " + x.tlb[p]).join("; ");
          return [[n, false], [x.runs === null ? "idle" : x.runs, ch(x.runs, y.runs), "short"],
            [x.lazy ? "on" : "off", ch(x.lazy, y.lazy), x.lazy ? "short" : "none short"],
            [batchText(x.batch), ch(x.batch, y.batch), x.batch.length ? "" : "none"],
            [tlb || "empty", ch(x.tlb, y.tlb), tlb ? "" : "none short"]];
        }), box);
        table("Programs", ["program", "on", "next line", "registers"],
          Object.keys(s.programs).map(n => {
            const x = s.programs[n], y = prev ? prev.programs[n] : x;
            const regs = Object.keys(x.registers).map(r => r + " = " + x.registers[r]);
            ["lazy", "enable_count", "pause_count", "preempt_count"].forEach(k => {
              if (k in x) regs.push(k + " = " + x[k]);
            });
            const y2 = Object.assign({}, y, { cpu: 0, next_line: 0, finished: 0 });
            const x2 = Object.assign({}, x, { cpu: 0, next_line: 0, finished: 0 });
            return [[n, false], [x.cpu === null ? "-" : x.cpu, ch(x.cpu, y.cpu), "short"],
              [x.finished ? "finished" : String(x.next_line), ch(x.next_line, y.next_line),
                "short"],
              [regs.join("; ") || "-", ch(x2, y2)]];
          }), box);
        if (s.pgd) table("PAE top-level entries", ["pgd", "value", "cached per CPU"],
          Object.keys(s.pgd).map(g => {
            const x = s.pgd[g], y = prev ? prev.pgd[g] : x;
            const cached = Object.keys(x.cached).map(c => c + ": " + x.cached[c]).join("; ");
            return [[g, false], [x.value, ch(x.value, y.value)], [cached, ch(x.cached, y.cached)]];
          }), box);
        if (s.ptpages) table("Page-table pages", ["page", "state"],
          Object.keys(s.ptpages).map(g => [[g, false],
            [s.ptpages[g], ch(s.ptpages[g], prev && prev.ptpages[g])]]), box);
        if (s.mm_users) table("mm_users", ["running the mm"], [[[s.mm_users.join(", ") || "none",
          ch(s.mm_users, prev && prev.mm_users)]]], box);
      }
      function renderDetail(i, box) {
        box.textContent = "";
        if (i === 0) {
          box.appendChild(el("p", "", "The initial state, before any step."));
          return;
        }
        const s = steps[i - 1], v = view.steps[i - 1];
        const p = el("p");
        p.appendChild(el("strong", "", s.actor + ": "));
        p.appendChild(el("code", "op", s.operation));
        box.appendChild(p);
        if (v.at) {
          box.appendChild(el("div", "at", v.at));
          box.appendChild(el("pre", "src", s.location.line + " │ " + v.source));
        }
        if (s.effects.length) {
          const ul = el("ul");
          s.effects.forEach(e => ul.appendChild(el("li", "", e)));
          box.appendChild(ul);
        } else {
          box.appendChild(el("p", "none", "nothing visible changed"));
        }
        if (i === view.failing_step) box.appendChild(el("p", "here-why", trace.why));
      }
      function select(i, scroll) {
        current = Math.max(0, Math.min(last, i));
        document.querySelectorAll("tr.step.current").forEach(r => r.classList.remove("current"));
        const row = document.getElementById("step-" + current);
        if (row) {
          row.classList.add("current");
          // Only when stepping: on load the page opens at its top, header and why shown.
          if (scroll && row.scrollIntoView) row.scrollIntoView({ block: "nearest" });
        }
        document.body.dataset.current = String(current);
        document.getElementById("panel-title").textContent = current === 0
          ? "Initial state" : "After step " + current + " of " + last
            + (trace.cycle_start !== null && current >= trace.cycle_start ? " (in the cycle)" : "");
        renderDetail(current, document.getElementById("detail"));
        renderState(stateAt(current), current === 0 ? null : stateAt(current - 1),
          document.getElementById("state"));
      }
      document.addEventListener("keydown", ev => {
        if (ev.ctrlKey || ev.metaKey || ev.altKey) return;
        const k = ev.key;
        if (k === "ArrowDown" || k === "ArrowRight" || k === "j") select(current + 1, true);
        else if (k === "ArrowUp" || k === "ArrowLeft" || k === "k") select(current - 1, true);
        else if (k === "Home" || k === "g") select(0, true);
        else if (k === "End" || k === "G") select(last, true);
        else if (k === "f" && view.failing_step !== null) select(view.failing_step, true);
        else return;
        ev.preventDefault();
      });
      document.querySelectorAll("tr.step").forEach(r => r.addEventListener("click",
        () => select(Number(r.dataset.step))));
      const params = new URLSearchParams(location.search);
      const start = params.has("step") ? Number(params.get("step")) : view.start_step;
      select(Number.isFinite(start) ? start : 0);
      (params.get("keys") || "").split(",").filter(k => k).forEach(key =>
        document.dispatchEvent(new KeyboardEvent("keydown", { key: key, bubbles: true })));
    })();

    """
}
