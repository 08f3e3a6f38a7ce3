// TLB maintenance: flush_tlb (a shootdown of one PTE's entries on every CPU, batched in lazy
// mode like the writes it follows), the asynchronous shootdown with completion
// (flush_tlb_start, each CPU handling its IPI, flush_tlb_wait), and eviction.
//
// A TLB slot holds the translation it cached: the PTE value it was filled from.

extension Machine {
  /// `flush_tlb(p)` (flush_tlb_page + IPIs, waited for): in lazy mode on a paravirt mode it
  /// is queued in the batch behind the writes it follows (Xen batches the flush into the
  /// same multicall); otherwise it completes at once.
  @inlinable public func flushTLB(
    _ s: PackedState, _ actor: Actor, pte p: Int, _ events: inout Events
  ) {
    if config.mode != .native, isLazy(s, actor) {
      enqueue(
        s, actor, pte: p, value: .none, preserveAD: false, isFlush: true, &events)
    } else {
      completeFlush(s, pte: p)
    }
  }

  /// Every CPU's entry for `p` is gone: the flush promised that no CPU uses a translation
  /// older than the last write.
  @inlinable public func completeFlush(_ s: PackedState, pte p: Int) {
    for c in 0..<config.cpuCount {
      s[layout.tlb[c][p]] = 0
      s[layout.ipiPending[c][p]] = 0
    }
    s[layout.tlbFlushed[p]] = 1
    s[layout.flushOwed[p]] = 0
    s[layout.exposed[p]] = 0
  }

  /// `flush_tlb_start(p)`: the issuing CPU drops its own entry and sends an IPI to every
  /// other CPU whose TLB may hold `p`; they act on it later (`handleShootdownIPI`). The
  /// shootdown covers the writes of `p` issued so far, not the ones issued after it.
  @inlinable public func flushTLBStart(_ s: PackedState, _ actor: Actor, pte p: Int) {
    let cpu = actor.cpu.rawValue
    s[layout.tlb[cpu][p]] = 0
    s[layout.shootdownCovers[p]] = 1
    for c in 0..<config.cpuCount where c != cpu && layout.ipiPending[c][p].width > 0 {
      s[layout.ipiPending[c][p]] = 1
    }
  }

  /// A CPU handles a shootdown IPI for `p`: drops its entry. An IPI is an interrupt, so it
  /// is taken only while the CPU has interrupts on and is not running a handler. False when
  /// none is pending or the CPU cannot take it now.
  @inlinable public func handleShootdownIPI(_ s: PackedState, cpu c: CPUIndex, pte p: Int) -> Bool {
    let cpu = c.rawValue
    guard s[layout.ipiPending[cpu][p]] != 0, s[layout.irqsOff[cpu]] == 0,
      s[layout.inIRQ[cpu]] == 0, s[layout.inSwitch[cpu]] == 0
    else { return false }
    s[layout.ipiPending[cpu][p]] = 0
    s[layout.tlb[cpu][p]] = 0
    return true
  }

  /// `flush_tlb_wait(p)`: enabled once every CPU has handled its IPI. Waiting flushes
  /// nothing itself: each CPU dropped its entry when it handled the IPI, and an entry it
  /// cached again after that is still there. The flush is complete (the ghost state says no
  /// flush is owed) only if no write of `p` was issued after `flush_tlb_start(p)`.
  /// Returns false while some CPU has not handled its IPI.
  @inlinable public func flushTLBWait(_ s: PackedState, _ actor: Actor, pte p: Int)
    -> Bool
  {
    for c in 0..<config.cpuCount where s[layout.ipiPending[c][p]] != 0 { return false }
    if s[layout.shootdownCovers[p]] != 0 {
      s[layout.tlbFlushed[p]] = 1
      s[layout.flushOwed[p]] = 0
      s[layout.exposed[p]] = 0
    }
    s[layout.shootdownCovers[p]] = 0
    return true
  }

  /// `local_flush_tlb_page(p)`: the calling CPU drops its own entry for `p` (no IPI). When
  /// no CPU holds an entry any more, none is pending an IPI, and the hardware sees the
  /// latest write, the flush owed for `p` is complete: any later fill sees the current PTE.
  @inlinable public func localFlushTLB(_ s: PackedState, _ actor: Actor, pte p: Int) {
    s[layout.tlb[actor.cpu.rawValue][p]] = 0
    for c in 0..<config.cpuCount
    where s[layout.tlb[c][p]] != 0 || s[layout.ipiPending[c][p]] != 0 {
      return
    }
    guard UInt64(hardwareVisible(s, p).rawValue) == s[layout.logical[p]] else { return }
    s[layout.flushOwed[p]] = 0
    s[layout.exposed[p]] = 0
  }

  /// `local_flush_tlb_pages(mask)`: `localFlushTLB` for every PTE whose bit is set in `mask`
  /// (bit i is PTE i), as sparc64's __flush_tlb_pending() walks its batch of vaddrs.
  @inlinable public func localFlushTLBPages(_ s: PackedState, _ actor: Actor, mask: UInt8) {
    for p in 0..<min(8, config.pteCount) where mask & (1 << p) != 0 {
      localFlushTLB(s, actor, pte: p)
    }
  }

  /// `flush_tlb_pages(mask)`: every PTE whose bit is set in `mask` is flushed on every CPU
  /// at once (`completeFlush`), as powerpc hash's tlbie, which every CPU obeys
  /// synchronously. Never queued, in any mode.
  @inlinable public func flushTLBPages(_ s: PackedState, mask: UInt8) {
    for p in 0..<min(8, config.pteCount) where mask & (1 << p) != 0 {
      completeFlush(s, pte: p)
    }
  }

  /// The hardware drops a TLB entry on its own (capacity eviction). Returns false when
  /// there is nothing to evict.
  @inlinable public func evictTLB(_ s: PackedState, cpu c: CPUIndex, pte p: Int) -> Bool {
    let cpu = c.rawValue
    let f = layout.tlb[cpu][p]
    guard s[f] != 0 else { return false }
    s[f] = 0
    return true
  }

  /// With `no_stale_tlb`: a software write that removes or downgrades a translation (not
  /// present any more, another page, or no longer writable) owes a TLB flush.
  @inlinable func noteDowngrade(_ s: PackedState, pte p: Int, from old: PTE, to new: PTE) {
    guard config.tracksStaleTLB, old.isPresent else { return }
    if !new.isPresent || new.pfn != old.pfn || (old.isWritable && !new.isWritable) {
      s[layout.flushOwed[p]] = 1
    }
  }

  /// With `no_stale_tlb`: releasing lock `l` publishes the PTEs it protects; any that still
  /// owe a flush are exposed to other CPUs using their old translation.
  @inlinable func exposeOwedFlushes(_ s: PackedState, lock l: Int) {
    guard config.tracksStaleTLB else { return }
    for p in 0..<config.pteCount where config.ptlOf[p] == l && s[layout.flushOwed[p]] != 0 {
      s[layout.exposed[p]] = 1
    }
  }
}
