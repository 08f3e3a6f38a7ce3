// arch_enter_lazy_mmu_mode / arch_leave_lazy_mmu_mode / arch_flush_lazy_mmu_mode and the
// per-CPU FIFO batch (Xen's multicall buffer, VMI's queued shadow syncs).
//
// A batch entry packs: PTE index (pteIndexBits), value (8 bits), preserve-A/D flag (1 bit),
// TLB-flush flag (1 bit: the entry is a queued flush_tlb of the PTE, not a write), and the
// program that queued it (contextBits; absent when every program has its own CPU).
// A flush applies the whole batch in FIFO order as one atomic step (one hypercall).

extension Machine {
  /// `arch_enter_lazy_mmu_mode()`. Entering twice is flagged (`lazy_nesting`): the
  /// flag-based arch hooks do not nest (the generic counters of 2025 call them only at the
  /// outermost level). The actor is the caller.
  @inlinable public func enterLazy(
    _ s: PackedState, _ actor: Actor, _ events: inout Events
  ) {
    let t = actor.program.rawValue
    guard let f = lazyFields(s, actor) else { return }  // interrupt context: no-op
    if s[f.flag] != 0 {
      events.raise(.lazyNesting) { .lazyNesting(program: t, rule: .enterWhileLazy) }
    }
    s[f.flag] = 1
    s[f.locks] = locksHeld(s, by: t)
  }

  /// `arch_leave_lazy_mmu_mode()`: flush the batch, then leave.
  @inlinable public func leaveLazy(
    _ s: PackedState, _ actor: Actor, _ events: inout Events
  ) {
    let cpu = actor.cpu.rawValue
    guard let f = lazyFields(s, actor) else { return }
    if s[f.flag] == 0 {
      events.raise(.lazyNesting) {
        .lazyNesting(program: actor.program.rawValue, rule: .leaveWhileNotLazy)
      }
    }
    flushBatch(s, cpu: cpu, &events)
    s[f.flag] = 0
    s[f.locks] = 0
  }

  /// `arch_flush_lazy_mmu_mode()`: leave then re-enter, i.e. flush and stay lazy.
  @inlinable public func flushLazy(
    _ s: PackedState, _ actor: Actor, _ events: inout Events
  ) {
    let cpu = actor.cpu.rawValue
    guard lazyFields(s, actor) != nil else { return }
    flushBatch(s, cpu: cpu, &events)
  }

  /// Whether the actor's writes are batched now.
  @inlinable public func isLazy(_ s: some PackedStateReading, _ actor: Actor) -> Bool {
    guard let f = lazyFields(s, actor) else { return false }
    return s[f.flag] != 0
  }

  @inlinable public func batchCount(_ s: some PackedStateReading, cpu: Int) -> Int {
    Int(s[layout.batchCount[cpu]])
  }

  /// Entry `i` of CPU `cpu`'s batch: (PTE index, value, preserve A/D, is a TLB flush, the
  /// context that queued it).
  @inlinable public func batchEntry(_ s: some PackedStateReading, cpu: Int, _ i: Int) -> (
    pte: Int, value: PTE, preserveAD: Bool, isFlush: Bool, writer: Int
  ) {
    let raw = s[layout.batchEntries[layout.batchBase[cpu] + i]]
    let bits = UInt64(layout.pteIndexBits)
    let pte = Int(raw & ((1 << bits) - 1))
    let value = PTE(rawValue: UInt8(truncatingIfNeeded: raw >> bits))
    let writer =
      layout.contextBits == 0
      ? (config.pinnedCPU.isEmpty ? cpu : config.pinnedCPU.firstIndex { $0 == cpu } ?? cpu)
      : Int((raw >> (bits + 10)) & ((1 << UInt64(layout.contextBits)) - 1))
    return (pte, value, (raw >> (bits + 8)) & 1 != 0, (raw >> (bits + 9)) & 1 != 0, writer)
  }

  /// Whether `program` has a write to PTE `p` queued in some CPU's batch (a task that
  /// migrated may have left it behind on another CPU).
  @inlinable public func hasQueuedWrite(_ s: some PackedStateReading, program: Int, pte p: Int)
    -> Bool
  {
    for c in 0..<config.cpuCount {
      let n = batchCount(s, cpu: c)
      for i in 0..<n {
        let e = batchEntry(s, cpu: c, i)
        if e.pte == p, !e.isFlush, e.writer == program { return true }
      }
    }
    return false
  }

  /// Queues an update. Queuing the `batchLimit`-th entry issues the hypercall at once:
  /// the batch and this entry are applied together (a full batch flushes).
  @inlinable public func enqueue(
    _ s: PackedState, _ actor: Actor, pte p: Int, value v: PTE, preserveAD: Bool,
    isFlush: Bool = false,
    _ events: inout Events
  ) {
    let cpu = actor.cpu.rawValue
    let writer = actor.program.rawValue
    let n = batchCount(s, cpu: cpu)
    if n + 1 >= config.batchLimit {
      if n > 0 { events.note { .batchFull(cpu: cpu, entries: n + 1) } }
      flushBatch(s, cpu: cpu, &events)
      applyBatchEntry(
        s, writer: writer, pte: p, value: v, preserveAD: preserveAD, isFlush: isFlush, &events)
      return
    }
    guard n < layout.batchSlots[cpu] else {
      events.insert(.batchOverflow)
      return
    }
    let bits = UInt64(layout.pteIndexBits)
    let raw =
      UInt64(p) | (UInt64(v.rawValue) << bits) | ((preserveAD ? 1 : 0) << (bits + 8))
      | ((isFlush ? 1 : 0) << (bits + 9)) | (UInt64(writer) << (bits + 10))
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
      applyBatchEntry(
        s, writer: e.writer, pte: e.pte, value: e.value, preserveAD: e.preserveAD,
        isFlush: e.isFlush, &events)
      s[layout.batchEntries[base + i]] = 0
    }
    s[layout.batchCount[cpu]] = 0
  }

  /// What the hypervisor does with an entry `writer` queued: in `direct` mode the write lands
  /// in the page table (over a newer write by another program, it loses that update); in `shadow`
  /// mode the shadow PTE is re-synced from the guest entry as it is now (the hypervisor
  /// re-reads the guest PTE, so the shadow lags but never goes back).
  @inlinable public func applyBatchEntry(
    _ s: PackedState, writer: Int, pte p: Int, value v: PTE, preserveAD: Bool,
    isFlush: Bool = false, _ events: inout Events
  ) {
    if isFlush {
      completeFlush(s, pte: p)
      return
    }
    switch config.mode {
    case .shadow:
      s[layout.shadow[p]] = s[layout.mem[p]]
    case .direct, .native:
      if config.tracksLostUpdates, s[layout.lastWriter[p]] != UInt64(writer + 1) {
        events.raise(.lostUpdate) {
          let last = Int(s[layout.lastWriter[p]]) - 1
          return .lostUpdate(
            pte: p, writer: writer, other: last >= 0 ? last : nil, rule: .lateLanding)
        }
      }
      land(s, pte: p, value: v, preserveAD: preserveAD, &events)
    }
  }
}

/// What a multicall entry asks of Xen.
public enum MulticallEntry: UInt8, Sendable, Hashable {
  /// `MMU_NORMAL_PT_UPDATE`: store the value.
  case update
  /// `MMU_PT_UPDATE_PRESERVE_AD`: store it, keeping the Accessed and Dirty bits set now.
  case updatePreserveAD
  /// `MMUEXT_INVLPG_MULTI` for one page: every CPU's TLB entry for it is gone.
  case invlpg
}

/// The hypervisor's multicall buffer as backend code uses it (Xen PV, `mode direct`):
/// `mmu_update` appends an entry to this CPU's buffer whatever the lazy state (the backend
/// decides when to batch, as `xen_mc_entry()` does), and `HYPERVISOR_multicall` issues the
/// buffer. The buffer is the CPU's batch, and every property reads it as it reads a lazy
/// batch. In `mode shadow` (arm64's `__set_pte_nosync` and `dsb`) the store reaches the
/// software table at once and the entry is the walker's re-sync, applied when the buffer is
/// issued.
///
/// Issuing is not one atomic step: Xen's `do_multicall()` and `do_mmu_update()` apply the
/// requests one at a time, in order, each atomic (the page lock covers one request), and
/// other vCPUs run between them (docs/kernel-mechanisms.md section 3). So each call here
/// applies one entry, and the issuing CPU stays in the hypercall until its buffer is empty.
extension Machine {
  /// The outcome of one `mmu_update` step.
  public enum MulticallAppend: Sendable {
    /// The entry is in the buffer: the call returns.
    case queued
    /// The buffer was full (`batch_limit - 1` entries): `__xen_mc_entry()` flushes it first.
    /// This step applied its oldest entry; the call goes on issuing, and the step that
    /// applies the last one queues the new entry.
    case issuing
  }

  /// `mmu_update(p, v)` (`draining` false) or one of its later steps (`draining` true): a
  /// full buffer is issued one entry per step, then the entry is queued.
  @inlinable public func multicallUpdate(
    _ s: PackedState, _ actor: Actor, pte p: Int, value v: PTE, entry: MulticallEntry,
    draining: Bool, _ events: inout Events
  ) -> MulticallAppend {
    let cpu = actor.cpu.rawValue
    let n = batchCount(s, cpu: cpu)
    if n > 0, draining || n + 1 >= config.batchLimit {
      if !issueMulticallEntry(s, cpu: cpu, &events) { return .issuing }
    }
    if entry != .invlpg {
      issueWrite(s, actor, pte: p, value: v, &events)
      if config.mode == .shadow {
        land(s, pte: p, value: v, preserveAD: entry == .updatePreserveAD, &events)
      }
    }
    enqueue(
      s, actor, pte: p, value: v, preserveAD: entry == .updatePreserveAD,
      isFlush: entry == .invlpg, &events)
    return .queued
  }

  /// `HYPERVISOR_mmu_update(p, v)` with one request: `__xen_set_pte()`'s path outside lazy
  /// mode. It lands now and does not issue the buffer, so it may land before older entries
  /// that are still queued.
  @inlinable public func hypercallUpdate(
    _ s: PackedState, _ actor: Actor, pte p: Int, value v: PTE, _ events: inout Events
  ) {
    issueWrite(s, actor, pte: p, value: v, &events)
    applyBatchEntry(
      s, writer: actor.program.rawValue, pte: p, value: v, preserveAD: false, &events)
  }

  /// One step of `HYPERVISOR_multicall`: applies the oldest entry of CPU `cpu`'s buffer and
  /// shifts the rest down. True when the buffer is empty now (the hypercall returns).
  @inlinable public func issueMulticallEntry(
    _ s: PackedState, cpu: Int, _ events: inout Events
  ) -> Bool {
    let n = batchCount(s, cpu: cpu)
    if n == 0 { return true }
    let e = batchEntry(s, cpu: cpu, 0)
    applyBatchEntry(
      s, writer: e.writer, pte: e.pte, value: e.value, preserveAD: e.preserveAD,
      isFlush: e.isFlush, &events)
    let base = layout.batchBase[cpu]
    for i in 1..<n {
      s[layout.batchEntries[base + i - 1]] = s[layout.batchEntries[base + i]]
    }
    s[layout.batchEntries[base + n - 1]] = 0
    s[layout.batchCount[cpu]] = UInt64(n - 1)
    return n == 1
  }
}
