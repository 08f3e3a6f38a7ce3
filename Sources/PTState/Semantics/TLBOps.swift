// flush_tlb (a shootdown of one PTE's entries on every CPU) and TLB eviction.
//
// A TLB slot holds 2 bits: 0 = no entry, 1 = read-only translation, 2 = writable but clean
// (a write must walk to set dirty), 3 = writable and dirty.

extension Machine {
  /// `flush_tlb(p)` (flush_tlb_page + IPIs, one atomic step): drops every CPU's entry for
  /// `p` and promises that no CPU uses a translation older than the last write.
  @inlinable public func flushTLB(_ s: PackedState, pte p: Int) {
    for c in 0..<config.cpuCount { s[layout.tlb[c][p]] = 0 }
    s[layout.tlbFlushed[p]] = 1
  }

  /// The hardware drops a TLB entry on its own (capacity eviction). Returns false when
  /// there is nothing to evict.
  @inlinable public func evictTLB(_ s: PackedState, cpu: Int, pte p: Int) -> Bool {
    let f = layout.tlb[cpu][p]
    guard s[f] != 0 else { return false }
    s[f] = 0
    return true
  }
}
