// arch_enter_lazy_mmu_mode / arch_leave_lazy_mmu_mode / arch_flush_lazy_mmu_mode and the
// per-CPU FIFO batch (Xen's multicall buffer, VMI's queued shadow syncs).
//
// A batch entry packs: PTE index (pteIndexBits), value (8 bits), preserve-A/D flag (1 bit),
// TLB-flush flag (1 bit: the entry is a queued flush_tlb of the PTE, not a write).
// A flush applies the whole batch in FIFO order as one atomic step (one hypercall).

extension Machine {
  /// `arch_enter_lazy_mmu_mode()`. Entering twice is flagged (`lazy_nesting`): the
  /// flag-based arch hooks do not nest (the generic counters of 2025 call them only at the
  /// outermost level).
  @inlinable public func enterLazy(_ s: PackedState, cpu: Int, _ events: inout Events) {
    if s[layout.lazy[cpu]] != 0 { events.insert(.lazyNesting) }
    s[layout.lazy[cpu]] = 1
    s[layout.lazyLocks[cpu]] = locksHeld(s, by: cpu)
  }

  /// `arch_leave_lazy_mmu_mode()`: flush the batch, then leave.
  @inlinable public func leaveLazy(_ s: PackedState, cpu: Int, _ events: inout Events) {
    if s[layout.lazy[cpu]] == 0 { events.insert(.lazyNesting) }
    flushBatch(s, cpu: cpu, &events)
    s[layout.lazy[cpu]] = 0
    s[layout.lazyLocks[cpu]] = 0
  }

  /// `arch_flush_lazy_mmu_mode()`: leave then re-enter, i.e. flush and stay lazy.
  @inlinable public func flushLazy(_ s: PackedState, cpu: Int, _ events: inout Events) {
    flushBatch(s, cpu: cpu, &events)
  }

  @inlinable public func isLazy(_ s: PackedState, cpu: Int) -> Bool { s[layout.lazy[cpu]] != 0 }

  @inlinable public func batchCount(_ s: PackedState, cpu: Int) -> Int { Int(s[layout.batchCount[cpu]]) }

  /// Entry `i` of CPU `cpu`'s batch: (PTE index, value, preserve A/D, is a TLB flush).
  @inlinable public func batchEntry(_ s: PackedState, cpu: Int, _ i: Int) -> (pte: Int, value: PTE, preserveAD: Bool, isFlush: Bool) {
    let raw = s[layout.batchEntries[layout.batchBase[cpu] + i]]
    let bits = UInt64(layout.pteIndexBits)
    let pte = Int(raw & ((1 << bits) - 1))
    let value = PTE(rawValue: UInt8(truncatingIfNeeded: raw >> bits))
    return (pte, value, (raw >> (bits + 8)) & 1 != 0, (raw >> (bits + 9)) & 1 != 0)
  }

  /// Whether CPU `cpu` has a write to PTE `p` queued in its batch.
  @inlinable public func hasQueuedWrite(_ s: PackedState, cpu: Int, pte p: Int) -> Bool {
    let n = batchCount(s, cpu: cpu)
    for i in 0..<n {
      let e = batchEntry(s, cpu: cpu, i)
      if e.pte == p, !e.isFlush { return true }
    }
    return false
  }

  /// Queues an update. Queuing the `batchLimit`-th entry issues the hypercall at once:
  /// the batch and this entry are applied together (a full batch flushes).
  @inlinable public func enqueue(
    _ s: PackedState, cpu: Int, pte p: Int, value v: PTE, preserveAD: Bool, isFlush: Bool = false, _ events: inout Events
  ) {
    let n = batchCount(s, cpu: cpu)
    if n + 1 >= config.batchLimit {
      flushBatch(s, cpu: cpu, &events)
      applyBatchEntry(s, cpu: cpu, pte: p, value: v, preserveAD: preserveAD, isFlush: isFlush, &events)
      return
    }
    guard n < layout.batchSlots[cpu] else {
      events.insert(.batchOverflow)
      return
    }
    let bits = UInt64(layout.pteIndexBits)
    let raw = UInt64(p) | (UInt64(v.rawValue) << bits) | ((preserveAD ? 1 : 0) << (bits + 8))
      | ((isFlush ? 1 : 0) << (bits + 9))
    s[layout.batchEntries[layout.batchBase[cpu] + n]] = raw
    s[layout.batchCount[cpu]] = UInt64(n + 1)
  }

  /// Applies and empties the batch (one hypercall). Unused slots are zeroed so that equal
  /// machines have equal words.
  @inlinable public func flushBatch(_ s: PackedState, cpu: Int, _ events: inout Events) {
    let n = batchCount(s, cpu: cpu)
    if n == 0 { return }
    let base = layout.batchBase[cpu]
    for i in 0..<n {
      let e = batchEntry(s, cpu: cpu, i)
      applyBatchEntry(s, cpu: cpu, pte: e.pte, value: e.value, preserveAD: e.preserveAD, isFlush: e.isFlush, &events)
      s[layout.batchEntries[base + i]] = 0
    }
    s[layout.batchCount[cpu]] = 0
  }

  /// What the hypervisor does with CPU `cpu`'s entry: in `direct` mode the write lands in
  /// the page table (over a newer write by another CPU, it loses that update); in `shadow`
  /// mode the shadow PTE is re-synced from the guest entry as it is now (the hypervisor
  /// re-reads the guest PTE, so the shadow lags but never goes back).
  @inlinable public func applyBatchEntry(
    _ s: PackedState, cpu: Int, pte p: Int, value v: PTE, preserveAD: Bool, isFlush: Bool = false, _ events: inout Events
  ) {
    if isFlush {
      completeFlush(s, pte: p)
      return
    }
    switch config.mode {
    case .shadow:
      s[layout.shadow[p]] = s[layout.mem[p]]
    case .direct, .native:
      if config.tracksLostUpdates, s[layout.lastWriter[p]] != UInt64(cpu + 1) { events.insert(.lostUpdate) }
      land(s, pte: p, value: v, preserveAD: preserveAD, &events)
    }
  }
}
