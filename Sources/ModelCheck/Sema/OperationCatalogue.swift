import PTState

/// The kernel operations a spec can call, one entry per operation: its spellings (the
/// kernel's name first, then aliases whose meaning is exactly the same), the kinds of its
/// arguments, whether it returns a value, in which paging modes it may put an entry in the
/// lazy batch, how it uses its PTE, and how its checked form is built. Sema resolves calls
/// with it, Lowering sizes batches with it, and reports read how a step used its PTE from
/// it. The machine's meaning of each operation is in PTState (`Semantics/`).
struct OperationEntry: Sendable {
  enum ArgKind: Sendable { case pte, lock, value, access, pgd, ptpage, variable, task }

  /// How a `variable` argument names its copy.
  enum VariableStyle: Sendable {
    /// `this_cpu_*(x)`: a percpu variable, this CPU's copy.
    case thisCPU
    /// `per_cpu(x, cpu)`: a percpu variable, the copy of the CPU the next argument names.
    case perCPU
    /// `READ_ONCE(x)`, `READ_ONCE(current.f)`: a global, or a field of the current task.
    case plain
    /// `set_ti_thread_flag(current, F)`, `set_thread_flag(F)`: a `pertask` bool of the
    /// current task.
    case taskFlag
  }

  /// How an operation uses its PTE: what reports call a look and a write.
  enum PTEUse: Sendable { case none, reads, writes, readsAndWrites }

  let spellings: [String]
  let arguments: [ArgKind]
  let returnsValue: Bool
  /// Paging modes in which the operation may queue an entry in the lazy batch.
  let queuesIn: Set<ParavirtMode>
  let pteUse: PTEUse
  let variableStyle: VariableStyle
  /// Builds the checked operation from the resolved arguments; nil when an argument that
  /// must be a constant is not (the caller reports it).
  let build: @Sendable (Operands) -> KernelOp?

  init(
    _ spellings: [String], _ arguments: [ArgKind], returns: Bool = false,
    queuesIn: Set<ParavirtMode> = [], pte: PTEUse = .none, variables: VariableStyle = .plain,
    build: @escaping @Sendable (Operands) -> KernelOp?
  ) {
    self.spellings = spellings
    self.arguments = arguments
    self.returnsValue = returns
    self.queuesIn = queuesIn
    self.pteUse = pte
    self.variableStyle = variables
    self.build = build
  }

  var name: String { spellings[0] }

  static func argName(_ k: ArgKind) -> String {
    switch k {
    case .pte: return "pte"
    case .lock: return "lock"
    case .value: return "value"
    case .access: return "read|write"
    case .pgd: return "pgd"
    case .ptpage: return "ptpage"
    case .variable: return "variable"
    case .task: return "task"
    }
  }
}

/// The resolved arguments of a call, by kind, in order.
struct Operands: Sendable {
  var ptes: [Int] = []
  var locks: [Int] = []
  var pgds: [Int] = []
  var pages: [Int] = []
  var values: [[ExprOp]] = []
  var access: AccessKind?
  var variables: [VariableRef] = []
}

enum OperationCatalogue {
  private static let writes: Set<ParavirtMode> = [.direct, .shadow]
  private static let shadowOnly: Set<ParavirtMode> = [.shadow]

  static let entries: [OperationEntry] = [
    .init(["spin_lock"], [.lock]) { .spinLock($0.locks[0]) },
    .init(["spin_unlock"], [.lock]) { .spinUnlock($0.locks[0]) },
    .init(["arch_enter_lazy_mmu_mode"], []) { _ in .enterLazy },
    .init(["arch_leave_lazy_mmu_mode"], []) { _ in .leaveLazy },
    .init(["arch_flush_lazy_mmu_mode"], []) { _ in .flushLazy },
    .init(["set_pte", "set_pte_at"], [.pte, .value], queuesIn: writes, pte: .writes) {
      .setPTE($0.ptes[0], $0.values[0])
    },
    // pte_clear(mm, addr, ptep) is set_pte(ptep, __pte(0)).
    .init(["pte_clear"], [.pte], queuesIn: writes, pte: .writes) {
      .setPTE($0.ptes[0], [.constant(0)])
    },
    .init(["ptep_get"], [.pte], returns: true, pte: .reads) { .ptepGet($0.ptes[0]) },
    .init(["ptep_get_and_clear"], [.pte], returns: true, queuesIn: shadowOnly, pte: .readsAndWrites)
    {
      .getAndClear($0.ptes[0])
    },
    .init(["xchg"], [.pte, .value], returns: true, queuesIn: shadowOnly, pte: .readsAndWrites) {
      .xchg($0.ptes[0], $0.values[0])
    },
    .init(
      ["cmpxchg"], [.pte, .value, .value], returns: true, queuesIn: shadowOnly,
      pte: .readsAndWrites
    ) { .cmpxchg($0.ptes[0], $0.values[0], $0.values[1]) },
    .init(["ptep_modify_prot_start"], [.pte], returns: true, queuesIn: shadowOnly, pte: .reads) {
      .modifyProtStart($0.ptes[0])
    },
    .init(["ptep_modify_prot_commit"], [.pte, .value], queuesIn: writes, pte: .writes) {
      .modifyProtCommit($0.ptes[0], $0.values[0])
    },
    .init(["flush_tlb", "flush_tlb_page"], [.pte], queuesIn: writes) { .flushTLB($0.ptes[0]) },
    .init(["touch"], [.pte, .access], returns: true, pte: .reads) {
      .touch($0.ptes[0], $0.access ?? .read)
    },
    // `full` must be a constant: 0 is the atomic exchange, 1 the full-mm teardown's plain
    // read then plain clear (lowered as two instructions).
    .init(
      ["ptep_get_and_clear_full"], [.pte, .value], returns: true, queuesIn: shadowOnly,
      pte: .readsAndWrites
    ) { operands in
      Sema.constantValue(operands.values[0]).map {
        .getAndClearFull(operands.ptes[0], full: $0 != 0)
      }
    },
    .init(["mmget"], []) { _ in .mmget },
    .init(["mmput"], [], returns: true) { _ in .mmput },
    .init(["lazy_mmu_mode_enable"], []) { _ in .lazyMMUEnable },
    .init(["lazy_mmu_mode_disable"], []) { _ in .lazyMMUDisable },
    .init(["lazy_mmu_mode_pause"], []) { _ in .lazyMMUPause },
    .init(["lazy_mmu_mode_resume"], []) { _ in .lazyMMUResume },
    .init(["preempt_disable"], []) { _ in .preemptDisable },
    .init(["preempt_enable"], []) { _ in .preemptEnable },
    .init(["might_sleep"], []) { _ in .mightSleep },
    .init(["local_irq_disable"], []) { _ in .irqDisable },
    .init(["local_irq_enable"], []) { _ in .irqEnable },
    .init(["flush_tlb_start"], [.pte]) { .flushTLBStart($0.ptes[0]) },
    .init(["flush_tlb_wait"], [.pte]) { .flushTLBWait($0.ptes[0]) },
    .init(["local_flush_tlb_page", "__flush_tlb_one_user"], [.pte]) {
      .localFlushTLB($0.ptes[0])
    },
    // A set of PTEs by their bits (`pte_bit(p)`): sparc64's __flush_tlb_pending() on this
    // CPU, and powerpc hash's flush_hash_range() (tlbie is broadcast). Never queued.
    .init(["local_flush_tlb_pages"], [.value]) { .localFlushTLBPages($0.values[0]) },
    .init(["flush_tlb_pages"], [.value]) { .flushTLBPages($0.values[0]) },
    .init(["set_pgd", "pud_populate"], [.pgd, .value]) { .setPGD($0.pgds[0], $0.values[0]) },
    .init(["pgd_get"], [.pgd], returns: true) { .pgdGet($0.pgds[0]) },
    .init(["load_cr3"], []) { _ in .loadCR3 },
    .init(["flush_tlb_mm"], []) { _ in .flushTLBMM },
    .init(["pt_alloc", "pmd_alloc"], [.ptpage], returns: true) { .ptAlloc($0.pages[0]) },
    .init(["pt_free", "pmd_free"], [.ptpage]) { .ptFree($0.pages[0]) },
    // Not kernel operations: the spec's own claims that a point is reached (`reachable`).
    .init(["cover"], []) { _ in .cover },
    .init(["reachable"], [.value]) { .reachable($0.values[0]) },
    // Kernel state the spec declares (`global`, `percpu`, `pertask`).
    .init(
      ["this_cpu_read", "__this_cpu_read", "raw_cpu_read"], [.variable], returns: true,
      variables: .thisCPU
    ) { .variableRead($0.variables[0]) },
    .init(
      ["this_cpu_write", "__this_cpu_write", "raw_cpu_write"], [.variable, .value],
      variables: .thisCPU
    ) { .variableWrite($0.variables[0], $0.values[0]) },
    .init(["this_cpu_inc", "__this_cpu_inc"], [.variable], variables: .thisCPU) {
      .variableAdd($0.variables[0], 1)
    },
    .init(["this_cpu_dec", "__this_cpu_dec"], [.variable], variables: .thisCPU) {
      .variableAdd($0.variables[0], -1)
    },
    .init(["this_cpu_xchg"], [.variable, .value], returns: true, variables: .thisCPU) {
      .variableExchange($0.variables[0], $0.values[0])
    },
    .init(["per_cpu"], [.variable, .value], returns: true, variables: .perCPU) {
      .variableRead($0.variables[0])
    },
    .init(["READ_ONCE", "atomic_read"], [.variable], returns: true) {
      .variableRead($0.variables[0])
    },
    .init(["WRITE_ONCE", "atomic_set"], [.variable, .value]) {
      .variableWrite($0.variables[0], $0.values[0])
    },
    .init(["atomic_xchg", "xchg_var"], [.variable, .value], returns: true) {
      .variableExchange($0.variables[0], $0.values[0])
    },
    .init(["atomic_inc"], [.variable]) { .variableAdd($0.variables[0], 1) },
    .init(["atomic_dec"], [.variable]) { .variableAdd($0.variables[0], -1) },
    .init(["set_ti_thread_flag"], [.task, .variable], variables: .taskFlag) {
      .variableWrite($0.variables[0], [.constant(1)])
    },
    .init(["clear_ti_thread_flag"], [.task, .variable], variables: .taskFlag) {
      .variableWrite($0.variables[0], [.constant(0)])
    },
    .init(["test_ti_thread_flag"], [.task, .variable], returns: true, variables: .taskFlag) {
      .variableRead($0.variables[0])
    },
    .init(
      ["test_and_clear_ti_thread_flag"], [.task, .variable], returns: true, variables: .taskFlag
    ) { .variableExchange($0.variables[0], [.constant(0)]) },
    .init(
      ["test_and_set_ti_thread_flag"], [.task, .variable], returns: true, variables: .taskFlag
    ) { .variableExchange($0.variables[0], [.constant(1)]) },
    .init(["set_thread_flag"], [.variable], variables: .taskFlag) {
      .variableWrite($0.variables[0], [.constant(1)])
    },
    .init(["clear_thread_flag"], [.variable], variables: .taskFlag) {
      .variableWrite($0.variables[0], [.constant(0)])
    },
    .init(["test_thread_flag"], [.variable], returns: true, variables: .taskFlag) {
      .variableRead($0.variables[0])
    },
    .init(["test_and_clear_thread_flag"], [.variable], returns: true, variables: .taskFlag) {
      .variableExchange($0.variables[0], [.constant(0)])
    },
    .init(["smp_processor_id", "raw_smp_processor_id"], [], returns: true) { _ in .processorID },
    // `local_irq_save(flags)` is `flags = irqs_disabled()` then `local_irq_disable()`, and
    // `local_irq_restore(flags)` is `if !flags { local_irq_enable() }`.
    .init(["irqs_disabled"], [], returns: true) { _ in .irqsDisabled },
    // Xen's multicall buffer, for backend code (`mode direct`): MMU_NORMAL_PT_UPDATE and
    // MMU_PT_UPDATE_PRESERVE_AD entries, and the hypercall that issues them.
    .init(["mmu_update"], [.pte, .value], queuesIn: [.direct], pte: .writes) {
      .multicallUpdate($0.ptes[0], $0.values[0], .update)
    },
    .init(["mmu_update_preserve_ad"], [.pte, .value], queuesIn: [.direct], pte: .writes) {
      .multicallUpdate($0.ptes[0], $0.values[0], .updatePreserveAD)
    },
    // MMUEXT_INVLPG_MULTI for one page (xen_flush_tlb_one_user/xen_flush_tlb_multi): an
    // entry that flushes every CPU's TLB entry for `p` when Xen reaches it.
    .init(["mmuext_invlpg_multi"], [.pte], queuesIn: [.direct]) {
      .multicallUpdate($0.ptes[0], [.constant(0)], .invlpg)
    },
    .init(["HYPERVISOR_multicall"], []) { _ in .multicallIssue },
    .init(["HYPERVISOR_mmu_update"], [.pte, .value], pte: .writes) {
      .hypercallUpdate($0.ptes[0], $0.values[0])
    },
    // The same buffer as arm64's deferred barriers (`mode shadow`): a PTE store the software
    // sees at once and the walker only after this CPU's next dsb (the walker's copy is
    // re-synced when the entry is applied), and the dsb that makes them visible.
    .init(["__set_pte_nosync"], [.pte, .value], queuesIn: shadowOnly, pte: .writes) {
      .multicallUpdate($0.ptes[0], $0.values[0], .update)
    },
    .init(["dsb_ishst", "dsb_ish"], []) { _ in .multicallIssue },
    // Assertions in kernel code (`no_bug`, `no_warn`) and the spec writer's (`assertions`).
    .init(["BUG_ON", "VM_BUG_ON"], [.value]) { .check(.bug, $0.values[0]) },
    .init(["WARN_ON", "WARN_ON_ONCE", "VM_WARN_ON", "VM_WARN_ON_ONCE"], [.value]) {
      .check(.warn, $0.values[0])
    },
    .init(["assert"], [.value]) { .check(.assertion, $0.values[0] + [.logicalNot]) },
  ]

  /// Every spelling, aliases included.
  static let bySpelling: [String: OperationEntry] = {
    var table: [String: OperationEntry] = [:]
    for e in entries { for s in e.spellings { table[s] = e } }
    return table
  }()
}
