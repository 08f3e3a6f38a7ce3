// set_pte, ptep_get, ptep_get_and_clear, xchg, cmpxchg, ptep_modify_prot_start/commit.
//
// Two ghost fields per PTE carry the checker's knowledge (never visible to the program):
// `logical` = the last value software issued, with every A/D bit hardware set since OR-ed
// in; `unowned` = the A/D bits hardware set that no software has read atomically since.

extension Machine {
  // MARK: Writes

  /// Software issues a write: the logical value becomes `v` (even if the write is queued),
  /// and no earlier TLB flush, finished or in flight, covers it any more.
  /// With `no_lost_update`: a writer whose last look at the PTE is no longer current loses
  /// someone's update, and so does a blind writer (one that never looked) over another
  /// program's write (see `isBlindConflict`).
  /// Every other program's view of the PTE is stale afterwards.
  @inlinable func issueWrite(
    _ s: PackedState, _ actor: Actor, pte p: Int, value v: PTE, _ events: inout Events
  ) {
    noteDowngrade(s, pte: p, from: s.pte(layout.logical[p]), to: v)
    s[layout.logical[p]] = UInt64(v.rawValue)
    s[layout.tlbFlushed[p]] = 0
    s[layout.shootdownCovers[p]] = 0
    let me = actor.program.rawValue
    guard config.tracksLastWriter else { return }
    defer { s[layout.lastWriter[p]] = UInt64(me + 1) }
    guard config.tracksLostUpdates else { return }
    let myView = s[layout.view[me][p]]
    if myView == 3 || isBlindConflict(s, writer: me, view: myView, pte: p) {
      events.raise(.lostUpdate) {
        let last = Int(s[layout.lastWriter[p]]) - 1
        return .lostUpdate(
          pte: p, writer: me, other: last >= 0 && last != me ? last : nil,
          rule: myView == 3
            ? .staleView : .blindOverwrite(otherLooked: s[layout.lastWriteBlind[p]] == 0))
      }
    }
    s[layout.lastWriteBlind[p]] = myView == 0 ? 1 : 0
    for k in 0..<config.contextCount {
      let f = layout.view[k][p]
      s[f] = k == me ? 1 : (s[f] == 0 ? 0 : 3)
    }
  }

  /// A blind write (`view` none: the writer never looked at the PTE) over the latest write of
  /// the PTE when that write was another program's: it overwrites that update without
  /// knowing it was there (two fault handlers without the pte_none() re-check, or an
  /// install over a mapping someone else made). Code that installs by intent says so the
  /// kernel's way, remap_pte_range()'s BUG_ON(!pte_none(ptep_get(pte))): that looks at the
  /// PTE, so the write is on a current view and a conflict is the BUG_ON's (`no_bug`).
  @inlinable func isBlindConflict(
    _ s: some PackedStateReading, writer me: Int, view: UInt64, pte p: Int
  )
    -> Bool
  {
    guard view == 0 else { return false }
    let last = s[layout.lastWriter[p]]
    return last != 0 && last != UInt64(me + 1)
  }

  /// With `no_lost_update`: the actor's program has looked at `p` and seen `seen`.
  @inlinable func recordView(_ s: PackedState, _ actor: Actor, pte p: Int, seen: PTE) {
    guard config.tracksLostUpdates else { return }
    let mask = ~PTE.hardwareBits
    let current = UInt8(truncatingIfNeeded: s[layout.logical[p]]) & mask
    s[layout.view[actor.program.rawValue][p]] = seen.rawValue & mask == current ? 1 : 3
  }

  /// A software write reaches the page table. Hardware-set bits that no software has read
  /// atomically (`unowned`) are lost when the new value drops them, or when it maps another
  /// page (or none): a Dirty bit of the old page then has nowhere to go (`no_lost_dirty`,
  /// for the tracked bits). A preserving update (Xen's MMU_PT_UPDATE_PRESERVE_AD) ORs the
  /// current A/D bits in instead. Bits that survive stay unowned: only an atomic read takes
  /// responsibility for them.
  @inlinable func land(
    _ s: PackedState, pte p: Int, value v: PTE, preserveAD: Bool, _ events: inout Events
  ) {
    let memField = layout.mem[p]
    let old = s.pte(memField)
    var nv = v.rawValue
    if preserveAD {
      nv |= old.rawValue & PTE.hardwareBits
      // The preserved bits are part of what this update means: if it is still the latest
      // software write, its logical value carries them too.
      let logicalField = layout.logical[p]
      if s[logicalField] & ~UInt64(PTE.hardwareBits) == UInt64(v.rawValue & ~PTE.hardwareBits) {
        s[logicalField] |= UInt64(nv & PTE.hardwareBits)
      }
    }
    let unownedBits = UInt8(truncatingIfNeeded: s[layout.unowned[p]]) << 2
    let new = PTE(rawValue: nv)
    // A preserving update carries the bits into the new entry, whatever it maps.
    let remapped = !preserveAD && (!new.isPresent || new.pfn != old.pfn)
    let lost = remapped ? unownedBits : unownedBits & ~nv
    if lost & config.trackedHardwareBits != 0 {
      events.raise(.lostDirty) {
        .lostDirty(
          pte: p, bits: lost & config.trackedHardwareBits, value: new, cpu: nil,
          rule: remapped ? .remap : .dropped)
      }
    }
    // The logical value no longer carries bits that are gone (unless this write sets them).
    let gone = lost & ~nv
    if gone != 0 { s[layout.logical[p]] &= ~UInt64(gone) }
    s[layout.unowned[p]] = remapped ? 0 : UInt64((unownedBits & nv) >> 2)
    s[memField] = UInt64(nv)
  }

  /// In shadow mode the hypervisor must sync the shadow PTE after a guest write: queued
  /// in lazy mode (the entry records the value written, for traces), at once otherwise.
  @inlinable func syncShadow(
    _ s: PackedState, _ actor: Actor, pte p: Int, value v: PTE, _ events: inout Events
  ) {
    if isLazy(s, actor) {
      enqueue(s, actor, pte: p, value: v, preserveAD: false, &events)
    } else {
      s[layout.shadow[p]] = UInt64(v.rawValue)
    }
  }

  /// `set_pte(p, v)` (set_pte_at): a plain store.
  @inlinable public func setPTE(
    _ s: PackedState, _ actor: Actor, pte p: Int, value v: PTE, _ events: inout Events
  ) {
    issueWrite(s, actor, pte: p, value: v, &events)
    switch config.mode {
    case .native:
      land(s, pte: p, value: v, preserveAD: false, &events)
    case .direct:
      if isLazy(s, actor) {
        enqueue(s, actor, pte: p, value: v, preserveAD: false, &events)
      } else {
        land(s, pte: p, value: v, preserveAD: false, &events)
      }
    case .shadow:
      land(s, pte: p, value: v, preserveAD: false, &events)
      syncShadow(s, actor, pte: p, value: v, &events)
    }
  }

  // MARK: Reads

  /// Whether a software read of `p` by the actor's program is entitled to the latest value:
  /// under the PTE's lock, or with a write to it queued by the reader (the read hazard).
  @inlinable public func isEntitledRead(_ s: some PackedStateReading, _ actor: Actor, pte p: Int)
    -> Bool
  {
    holdsPTL(s, program: actor.program.rawValue, pte: p)
      || hasQueuedWrite(s, program: actor.program.rawValue, pte: p)
  }

  /// Checks an observation `seen` of `p` against its logical value.
  @inlinable func observe(
    _ s: PackedState, _ actor: Actor, pte p: Int, seen: PTE, _ events: inout Events
  ) {
    let cpu = actor.cpu.rawValue
    if UInt64(seen.rawValue) != s[layout.logical[p]],
      isEntitledRead(s, actor, pte: p)
    {
      events.raise(.staleRead) {
        .staleRead(
          pte: p, program: actor.program.rawValue, cpu: cpu, seen: seen,
          latest: s.pte(layout.logical[p]),
          rule: hasQueuedWrite(s, program: actor.program.rawValue, pte: p)
            ? .ownQueuedWrite : .underLock)
      }
    }
  }

  /// `ptep_get(p)` (a plain `*ptep`): reads the page table the kernel sees.
  @inlinable public func ptepGet(
    _ s: PackedState, _ actor: Actor, pte p: Int, _ events: inout Events
  ) -> PTE {
    let v = s.pte(layout.mem[p])
    observe(s, actor, pte: p, seen: v, &events)
    recordView(s, actor, pte: p, seen: v)
    return v
  }

  // MARK: Atomics (never batched: they act on the page table at once)

  /// The write half of an atomic: lands at once (nothing can be lost, the read half just
  /// took responsibility for every A/D bit), and the shadow is synced as for a store.
  @inlinable func atomicWrite(
    _ s: PackedState, _ actor: Actor, pte p: Int, value v: PTE, _ events: inout Events
  ) {
    issueWrite(s, actor, pte: p, value: v, &events)
    s[layout.mem[p]] = UInt64(v.rawValue)
    if config.mode == .shadow { syncShadow(s, actor, pte: p, value: v, &events) }
  }

  /// The read half of an atomic: an observation. An exchange (`xchg`,
  /// `ptep_get_and_clear`) also takes responsibility for the A/D bits it removes: they are
  /// handed to the caller as its result (as zap_pte_range then calls set_page_dirty()).
  @inlinable func atomicRead(
    _ s: PackedState, _ actor: Actor, pte p: Int, takesBits: Bool,
    _ events: inout Events
  ) -> PTE {
    let v = s.pte(layout.mem[p])
    observe(s, actor, pte: p, seen: v, &events)
    recordView(s, actor, pte: p, seen: v)
    if takesBits { s[layout.unowned[p]] = 0 }
    return v
  }

  /// `xchg(p, v)`: returns the old value.
  @inlinable public func xchg(
    _ s: PackedState, _ actor: Actor, pte p: Int, value v: PTE, _ events: inout Events
  ) -> PTE {
    let old = atomicRead(s, actor, pte: p, takesBits: true, &events)
    atomicWrite(s, actor, pte: p, value: v, &events)
    return old
  }

  /// `ptep_get_and_clear(p)`: xchg with `none`.
  @inlinable public func ptepGetAndClear(
    _ s: PackedState, _ actor: Actor, pte p: Int, _ events: inout Events
  ) -> PTE {
    xchg(s, actor, pte: p, value: .none, &events)
  }

  /// `cmpxchg(p, expected, new)`: returns the value seen; stores `new` only if it equals
  /// `expected`. A failure reports `cmpxchgFailed` for the retry analysis. Unlike an
  /// exchange, a cmpxchg is an *update*: the value it stores must carry the hardware bits
  /// it replaces (as Xen's update_intpte() and ptep_set_wrprotect() loops do), so a stored
  /// value that drops them loses them (`no_lost_dirty`).
  @inlinable public func cmpxchg(
    _ s: PackedState, _ actor: Actor, pte p: Int, expected: PTE, new: PTE,
    _ events: inout Events
  ) -> PTE {
    let seen = atomicRead(s, actor, pte: p, takesBits: false, &events)
    if seen == expected {
      issueWrite(s, actor, pte: p, value: new, &events)
      land(s, pte: p, value: new, preserveAD: false, &events)
      if config.mode == .shadow { syncShadow(s, actor, pte: p, value: new, &events) }
    } else {
      events.insert(.cmpxchgFailed)
      events.note { .cmpxchgFailed(pte: p, expected: expected, seen: seen) }
    }
    return seen
  }

  // MARK: The read-modify-write transaction

  /// `ptep_modify_prot_start(p)`: natively an xchg to `none` (the PTE is non-present during
  /// the transaction, so hardware cannot set A/D behind the caller's back); in `direct`
  /// mode Xen's plain read (the commit preserves hardware updates instead).
  @inlinable public func modifyProtStart(
    _ s: PackedState, _ actor: Actor, pte p: Int, _ events: inout Events
  ) -> PTE {
    config.mode == .direct
      ? ptepGet(s, actor, pte: p, &events)
      : ptepGetAndClear(s, actor, pte: p, &events)
  }

  /// `ptep_modify_prot_commit(p, v)`: natively a plain store; in `direct` mode an
  /// `mmu_update` with MMU_PT_UPDATE_PRESERVE_AD, queued in lazy mode.
  @inlinable public func modifyProtCommit(
    _ s: PackedState, _ actor: Actor, pte p: Int, value v: PTE, _ events: inout Events
  ) {
    guard config.mode == .direct else {
      setPTE(s, actor, pte: p, value: v, &events)
      return
    }
    issueWrite(s, actor, pte: p, value: v, &events)
    if isLazy(s, actor) {
      enqueue(s, actor, pte: p, value: v, preserveAD: true, &events)
    } else {
      land(s, pte: p, value: v, preserveAD: true, &events)
    }
  }
}
