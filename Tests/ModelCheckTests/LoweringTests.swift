import PTState
import Testing

@testable import ModelCheck

/// The tables lowering fixes once per spec: the action table (whose order numbers the
/// BFS, and so every trace) and the batch slots each CPU's state holds.
@Suite struct LoweringTests {
  func program(_ text: String) throws -> Program {
    try Pipeline.compile(SourceFile(path: "t.spec", text: text))
  }

  @Test("action order: program steps (one per branch), hardware, evictions, early flushes, IPIs")
  func actionOrder() throws {
    let p = try program(
      """
      mode direct
      pte a = present | write | pfn(1)
      hardware cpu1: read a, write a
      tlb cpu1: a
      check no_stale_read
      expect pass
      cpu cpu0 {
        arch_enter_lazy_mmu_mode()
        either { set_pte(a, none) } or { set_pte(a, present | pfn(1)) } or { }
        flush_tlb_start(a)
        flush_tlb_wait(a)
        arch_leave_lazy_mmu_mode()
      }
      cpu cpu1 {
      }
      """)
    let kinds = p.actions.map(\.kind)
    #expect(
      kinds == [
        .cpuStep, .cpuStep, .cpuStep, .cpuStep,  // cpu0's three branches, cpu1's one
        .hardwareAccess, .hardwareAccess, .tlbEvict, .earlyFlush, .shootdownIPI,
      ])
    #expect(p.actions[0].cpu == 0 && p.actions[2].arg == 2 && p.actions[3].cpu == 1)
    #expect(
      p.actions[4].arg == AccessKind.read.rawValue && p.actions[5].arg == AccessKind.write.rawValue)
    #expect(p.actions[6].cpu == 1 && p.actions[7].cpu == 0 && p.actions[8].cpu == 1)
  }

  @Test("batch slots: the queuing instructions a program can reach, capped by batch_limit - 1")
  func batchSlots() throws {
    let straight = try program(
      """
      mode direct
      pte a = present
      batch_limit 8
      expect pass
      cpu c0 {
        arch_enter_lazy_mmu_mode()
        set_pte(a, none)
        set_pte(a, present)
        arch_leave_lazy_mmu_mode()
      }
      cpu c1 {
        set_pte(a, none)
      }
      """)
    // c0 queues at most 2; c1 never enters lazy mode: no slots at all.
    #expect(straight.machine.layout.batchSlots == [2, 0])
    let looping = try program(
      """
      mode direct
      pte a = present
      batch_limit 8
      expect pass
      cpu c0 {
        arch_enter_lazy_mmu_mode()
        loop {
          set_pte(a, none)
        }
      }
      """)
    #expect(looping.machine.layout.batchSlots == [7])  // a loop: the batch limit bounds it
    let native = try program(
      """
      mode native
      pte a = present
      expect pass
      cpu c0 {
        arch_enter_lazy_mmu_mode()
        set_pte(a, none)
        arch_leave_lazy_mmu_mode()
      }
      """)
    #expect(native.machine.layout.batchSlots == [0])  // native mode never queues
  }

  @Test("an action says what it is: its meaning names its fields and builds it back")
  func actionMeaning() {
    let meanings: [Action.Meaning] = [
      .step(program: 2, branch: 1), .hardwareAccess(cpu: 1, pte: 3, kind: .write),
      .tlbEvict(cpu: 0, pte: 1), .earlyFlush(cpu: 1), .shootdownIPI(cpu: 2, pte: 0),
      .contextSwitch(cpu: 1, to: 3), .contextSwitch(cpu: 1, to: nil), .interrupt(handler: 4),
    ]
    for m in meanings { #expect(Action(m).meaning == m) }
  }
}
