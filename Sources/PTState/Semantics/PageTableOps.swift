// PAE top-level entries (PDPTEs cached per CPU at cr3 load) and the lifetime of
// page-table pages (pgd_alloc / pmd_alloc / free_pgtables / pgd_free, seed 004).

extension Machine {
  /// `set_pgd(g, v)` / `pud_populate(g, pmd)`: writes the top-level entry in memory. The
  /// CPUs keep using the copies they loaded at their last cr3 load.
  @inlinable public func setPGD(_ s: PackedState, pgd g: Int, value v: PTE) {
    s[layout.pgd[g]] = UInt64(v.rawValue)
  }

  @inlinable public func pgdGet(_ s: some PackedStateReading, pgd g: Int) -> PTE {
    s.pte(layout.pgd[g])
  }

  /// `load_cr3()` on this CPU: reloads its cached top-level entries (and flushes its TLB).
  @inlinable public func loadCR3(_ s: PackedState, cpu: Int) {
    for g in 0..<config.initialPGDs.count { s[layout.pgdCache[cpu][g]] = s[layout.pgd[g]] }
    for p in 0..<config.pteCount { s[layout.tlb[cpu][p]] = 0 }
    clearPGDExposure(s)
  }

  /// `flush_tlb_mm()` / a cr3 reload on every CPU running the mm (every CPU, when the spec
  /// does not track mm_users), as one shootdown.
  @inlinable public func flushTLBMM(_ s: PackedState, _ events: inout Events) {
    for c in 0..<config.cpuCount where runsMM(s, cpu: c) { loadCR3(s, cpu: c) }
    for p in 0..<config.pteCount { completeFlush(s, pte: p) }
  }

  @inlinable func clearPGDExposure(_ s: PackedState) {
    for g in 0..<config.initialPGDs.count {
      var stale = false
      for c in 0..<config.cpuCount where s[layout.pgdCache[c][g]] != s[layout.pgd[g]] {
        stale = true
      }
      if !stale { s[layout.pgdExposed[g]] = 0 }
    }
  }

  /// With `no_stale_tlb`: releasing lock `l` publishes the top-level entries it protects;
  /// a CPU whose cached copy differs from memory now walks with a stale PDPTE.
  @inlinable func exposeStalePGDs(_ s: PackedState, lock l: Int) {
    guard config.tracksStaleTLB else { return }
    for g in 0..<config.initialPGDs.count where config.lockOfPGD[g] == l {
      for c in 0..<config.cpuCount where s[layout.pgdCache[c][g]] != s[layout.pgd[g]] {
        s[layout.pgdExposed[g]] = 1
      }
    }
  }

  /// The walk's first step: the CPU's cached top-level entry over `p`. Returns false
  /// (a fault) when it is not present; reports a stale PDPTE when it differs from memory
  /// after the update was published.
  @inlinable func walkTopLevel(_ s: PackedState, cpu: Int, pte p: Int, _ events: inout Events)
    -> Bool
  {
    guard !config.pgdOf.isEmpty, let g = config.pgdOf[p] else { return true }
    let cached = s[layout.pgdCache[cpu][g]]
    if s[layout.pgdExposed[g]] != 0, cached != s[layout.pgd[g]] {
      events.raise(.staleTLB) {
        .staleTLB(
          pte: p, cpu: cpu, cached: PTE(rawValue: UInt8(truncatingIfNeeded: cached)), pgd: g)
      }
    }
    guard cached & UInt64(PTE.presentBit) != 0 else {
      events.note {
        .access(
          pte: p, cpu: cpu,
          outcome: .topLevelFault(pgd: g, cached: PTE(rawValue: UInt8(truncatingIfNeeded: cached))))
      }
      return false
    }
    return true
  }

  /// `pt_alloc(page)`: the allocator hands out the page, or fails (`outcome`); returns
  /// whether the program got it. Allocating a page that is still allocated loses the
  /// earlier allocation: a leak.
  @inlinable public func ptAlloc(
    _ s: PackedState, page: Int, outcome: AllocatorOutcome, by program: Int = 0,
    _ events: inout Events
  ) -> Bool {
    guard outcome == .succeeds else { return false }
    if s[layout.ptPage[page]] == 1 {
      events.raise(.ptLeak) { .ptLeak(page: page, program: program, rule: .allocatedTwice) }
    }
    s[layout.ptPage[page]] = 1
    return true
  }

  /// `pt_free(page)`: freeing a page that is not allocated (twice, or never) is a bug.
  @inlinable public func ptFree(
    _ s: PackedState, page: Int, by program: Int = 0, _ events: inout Events
  ) {
    if s[layout.ptPage[page]] != 1 {
      let rule: PTLeakRule = s[layout.ptPage[page]] == 2 ? .doubleFree : .neverAllocated
      events.raise(.ptLeak) { .ptLeak(page: page, program: program, rule: rule) }
    }
    s[layout.ptPage[page]] = 2
  }

  /// At the end: a page-table page still allocated is leaked.
  @inlinable public func hasLeakedPTPages(_ s: some PackedStateReading) -> Bool {
    for g in 0..<config.ptPageCount where s[layout.ptPage[g]] == 1 { return true }
    return false
  }
}

/// What the page allocator does for a `pt_alloc`: an allocation that may sleep can still
/// fail under memory pressure, so the checker explores both outcomes. The raw value is the
/// program step's branch that takes it.
public enum AllocatorOutcome: Int, CaseIterable, Sendable {
  case succeeds = 0
  case fails = 1
}
