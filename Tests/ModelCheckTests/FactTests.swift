import PTState
import Testing

@testable import ModelCheck

/// Explanations read what the machine recorded while a counterexample was replayed, not a
/// second copy of its rules: the facts must be there, and only in the replay.
@Suite struct FactTests {
  @Test("replaying a counterexample records the fact behind its violation")
  func replayRecords() throws {
    let text = spec(
      mode: "native", header: "hardware c1: write a", checks: "no_lost_dirty",
      expect: "fail no_lost_dirty",
      """
      cpu c0 {
        var x
        set_pte(a, present | write | pfn(1))
        x = ptep_get(a)
        set_pte(a, pte_wrprotect(x))
      }
      cpu c1
      """)
    let r = try check(text)
    let c = try #require(r.result(.noLostDirty)?.counterexample)
    let trace = Trace(program: r.program, counterexample: c)
    let last = try #require(trace.steps.last)
    #expect(
      last.facts == [
        .lostDirty(
          pte: 0, bits: PTE.dirtyBit, value: last.after.mem[0],
          cpu: nil, rule: .dropped)
      ])
    // Earlier steps raised nothing; the hardware's walk is recorded for the trace.
    let earlier = trace.steps.dropLast().flatMap(\.facts)
    #expect(earlier.allSatisfy { if case .access = $0 { true } else { false } })
    let walked = PTE(rawValue: PTE.presentBit | PTE.writeBit | PTE.pfnBits(1))
    #expect(earlier == [.access(pte: 0, cpu: 1, outcome: .walk(seen: walked, faulted: false))])
  }

  @Test("exploration records nothing: events carry no log, and raising keeps a log")
  func noLogInExploration() {
    var e = Events()
    e.raise(.staleRead) { preconditionFailure("a fact built without a log") }
    #expect(e == .staleRead)
    var log = FactLog()
    log.recording { recorder in
      var recording = Events(log: recorder)
      recording.insert(.lostDirty)  // OptionSet's own insert would drop the log
      recording.raise(.ptLeak) { .ptLeak(page: 0, program: 0, rule: .doubleFree) }
      #expect(recording == [.lostDirty, .ptLeak])
    }
    #expect(log.facts == [.ptLeak(page: 0, program: 0, rule: .doubleFree)])
  }
}
