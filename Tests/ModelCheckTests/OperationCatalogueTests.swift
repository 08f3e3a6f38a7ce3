import PTState
import Testing

@testable import ModelCheck

/// The operation catalogue: one entry per kernel operation, used by Sema, Lowering and the
/// reports.
@Suite struct OperationCatalogueTests {
  @Test("every spelling names one entry; aliases resolve to their operation")
  func spellings() {
    let all = OperationCatalogue.entries.flatMap(\.spellings)
    #expect(Set(all).count == all.count)
    #expect(OperationCatalogue.bySpelling["set_pte_at"]?.name == "set_pte")
    #expect(OperationCatalogue.bySpelling["pmd_alloc"]?.name == "pt_alloc")
    #expect(OperationCatalogue.bySpelling["flush_tlb_page"]?.name == "flush_tlb")
  }

  @Test("pte_clear is set_pte(p, none): the same states, the same queuing")
  func pteClear() throws {
    let body = { (op: String) in
      spec("cpu c0 {\n arch_enter_lazy_mmu_mode()\n \(op)\n arch_leave_lazy_mmu_mode()\n}")
    }
    let alias = try check(body("pte_clear(a)"))
    let plain = try check(body("set_pte(a, none)"))
    #expect(alias.statistics.states == plain.statistics.states)
    #expect(alias.statistics.transitions == plain.statistics.transitions)
    #expect(alias.program.machine.layout.batchSlots == plain.program.machine.layout.batchSlots)
  }

  @Test("each operation's PTE use and queuing modes are what reports and batches rely on")
  func uses() {
    let e = OperationCatalogue.bySpelling
    #expect(e["ptep_get"]?.pteUse == .reads && e["ptep_get"]?.queuesIn == [])
    #expect(e["set_pte"]?.pteUse == .writes && e["set_pte"]?.queuesIn == [.direct, .shadow])
    #expect(e["cmpxchg"]?.pteUse == .readsAndWrites && e["cmpxchg"]?.queuesIn == [.shadow])
    #expect(e["flush_tlb"]?.pteUse == OperationEntry.PTEUse.none)
    #expect(e.values.allSatisfy { !$0.queuesIn.contains(.native) })
  }
}
