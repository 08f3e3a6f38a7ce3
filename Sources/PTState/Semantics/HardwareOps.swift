// The hardware of one CPU touching a mapping: a TLB hit, or a page walk that sets the
// Accessed (and, for a write, Dirty) bit atomically and fills the TLB, or a fault.

extension Machine {
  /// One hardware access by CPU `c` to the page mapped by PTE `p`. Returns true when the
  /// access completed, false when it faulted. Hardware only ever sets A/D from 0 to 1.
  /// `program`: the program whose code uses the mapping (`touch`), which is entitled to its
  /// own queued writes (kmap_atomic's set_pte, then the access); nil for the hardware on
  /// its own (a `hardware` line).
  @inlinable public func hardwareAccess(
    _ s: PackedState, cpu c: CPUIndex, program: ProgramIndex?, pte p: Int, kind: AccessKind,
    _ events: inout Events
  ) -> Bool {
    let cpu = c.rawValue
    let tlbField = layout.tlb[cpu][p]
    let cached = s.pte(tlbField)
    if cached.isPresent, kind == .read || (cached.isWritable && cached.isDirty) {
      events.note { .access(pte: p, cpu: cpu, outcome: .tlbHit(cached)) }
      tlbHit(s, cpu: c, program: program, pte: p, cached: cached, kind: kind, &events)
      return true
    }

    guard walkTopLevel(s, cpu: cpu, pte: p, &events) else { return false }  // PDPTE not present
    let h = hardwareVisible(s, p)
    let faults = !h.isPresent || (kind == .write && !h.isWritable)
    events.note { .access(pte: p, cpu: cpu, outcome: .walk(seen: h, faulted: faults)) }
    // A walk after a flush issued later than the last write must see that write, and so
    // must the CPU's own code walking a PTE it has a write queued for.
    if UInt64(h.rawValue) != s[layout.logical[p]],
      s[layout.tlbFlushed[p]] != 0
        || (program.map { hasQueuedWrite(s, program: $0.rawValue, pte: p) } ?? false)
    {
      events.raise(.staleRead) {
        .staleRead(
          pte: p, program: program?.rawValue, cpu: cpu, seen: h,
          latest: s.pte(layout.logical[p]),
          rule: s[layout.tlbFlushed[p]] != 0 ? .walkAfterFlush : .touchOwnQueuedWrite)
      }
    }
    guard !faults else { return false }

    let setBits = PTE.accessedBit | (kind == .write ? PTE.dirtyBit : 0)
    let added = setBits & ~h.rawValue
    let now = h.rawValue | setBits
    if added != 0 {
      switch config.mode {
      case .native, .direct:
        s[layout.mem[p]] = UInt64(now)
        recordHardwareBits(s, pte: p, added)
      case .shadow:
        s[layout.shadow[p]] = UInt64(now)
        // The hypervisor reflects A/D into the guest entry the shadow was made from. If the
        // guest entry no longer maps that page, the bit has nowhere to go: it is lost.
        let g = s.pte(layout.mem[p])
        if g.isPresent, g.pfn == h.pfn {
          s[layout.mem[p]] = UInt64(g.rawValue | added)
          recordHardwareBits(s, pte: p, added)
        } else if added & config.trackedHardwareBits != 0 {
          events.raise(.lostDirty) {
            .lostDirty(
              pte: p, bits: added & config.trackedHardwareBits, value: g, cpu: cpu,
              rule: .staleShadow)
          }
        }
      }
    }
    s[tlbField] = UInt64(now)
    return true
  }

  /// Whether a spontaneous access by CPU `c` to PTE `p` would change nothing and raise no
  /// event, said without applying it: the CPU has no TLB slot for `p` and no PAE entry above
  /// it, the walk is not stale, and it faults or finds its A (and for a write D) bits set
  /// already. (`hardwareAccess` is the semantics; this is its cheap no-op case.)
  @inlinable public func hardwareAccessChangesNothing(
    _ s: some PackedStateReading, cpu c: Int, pte p: Int, kind: AccessKind
  ) -> Bool {
    guard layout.tlb[c][p].mask == 0, config.pgdOf.isEmpty || config.pgdOf[p] == nil else {
      return false
    }
    let h = hardwareVisible(s, p)
    if UInt64(h.rawValue) != s[layout.logical[p]], s[layout.tlbFlushed[p]] != 0 { return false }
    if !h.isPresent || (kind == .write && !h.isWritable) { return true }
    let setBits = PTE.accessedBit | (kind == .write ? PTE.dirtyBit : 0)
    return setBits & ~h.rawValue == 0
  }

  /// A TLB hit: no walk, nothing changes, but the translation used may be out of date.
  /// - `no_stale_tlb`: the PTE no longer grants it, its lock was released, and the flush has
  ///   not completed.
  /// - `no_stale_read`: the CPU's own code uses a translation the PTE no longer grants while
  ///   it is entitled to the latest value: it holds the ptl, has a write of the PTE queued,
  ///   or issued the latest write itself (kunmap_atomic() without the local flush, then a
  ///   kmap_atomic() of another page in the same slot).
  /// - `no_lost_dirty`: a store through a writable, dirty entry while the PTE maps the same
  ///   page clean: the hardware does not set Dirty again, so the page is treated as clean
  ///   (Dirty cleared without a flush, as page_mkclean_one() must not do).
  @inlinable func tlbHit(
    _ s: PackedState, cpu c: CPUIndex, program: ProgramIndex?, pte p: Int, cached: PTE,
    kind: AccessKind, _ events: inout Events
  ) {
    let cpu = c.rawValue
    let now = s.pte(layout.logical[p])
    let granted = now.isPresent && now.pfn == cached.pfn && (kind == .read || now.isWritable)
    if !granted, s[layout.exposed[p]] != 0 {
      events.raise(.staleTLB) { .staleTLB(pte: p, cpu: cpu, cached: cached, pgd: nil) }
    }
    if !granted, let program, config.tracksOwnTLBUse {
      let me = program.rawValue
      if s[layout.lastWriter[p]] == UInt64(me + 1)
        || isEntitledRead(s, Actor(program: program, cpu: c), pte: p)
      {
        events.raise(.staleRead) {
          .staleRead(pte: p, program: me, cpu: cpu, seen: cached, latest: now, rule: .ownTLBHit)
        }
      }
    }
    if kind == .write {
      let h = hardwareVisible(s, p)
      if h.isPresent, h.pfn == cached.pfn, !h.isDirty {
        events.raise(.lostDirty) {
          .lostDirty(pte: p, bits: PTE.dirtyBit, value: h, cpu: cpu, rule: .dirtyTLBStore)
        }
      }
    }
  }

  @inlinable func recordHardwareBits(_ s: PackedState, pte p: Int, _ added: UInt8) {
    s[layout.unowned[p]] |= UInt64(added >> 2)
    s[layout.logical[p]] |= UInt64(added)
  }
}
