// The mm's users (mm_users, mmget/mmput) and the full-teardown PTE clear of exit_mmap().

extension Machine {
  /// Whether CPU `cpu` runs the mm, so that its hardware can touch the mm's mappings.
  /// Always true when the spec does not track mm_users.
  @inlinable public func runsMM(_ s: some PackedStateReading, cpu: Int) -> Bool {
    !tracksMM || s[layout.runsMM[cpu]] != 0
  }

  /// mm_users: how many CPUs hold a reference on the mm.
  @inlinable public func mmUsers(_ s: some PackedStateReading) -> Int {
    var n = 0
    for c in 0..<config.cpuCount where s[layout.runsMM[c]] != 0 { n += 1 }
    return n
  }

  /// `mmget()`: the CPU takes a reference and runs the mm.
  @inlinable public func mmget(_ s: PackedState, cpu: Int) {
    s[layout.runsMM[cpu]] = 1
  }

  /// `mmput()`: the CPU drops its reference and stops running the mm. Returns true when
  /// that was the last reference (atomic_dec_and_test(&mm->mm_users): the caller then
  /// tears the address space down in exit_mmap()).
  @inlinable public func mmput(_ s: PackedState, cpu: Int) -> Bool {
    let had = s[layout.runsMM[cpu]] != 0
    s[layout.runsMM[cpu]] = 0
    return had && mmUsers(s) == 0
  }

  /// The first half of `ptep_get_and_clear_full(p, 1)`: `pte = *ptep`, a plain read whose
  /// value the caller passes on to the page (zap_pte_range checks pte_dirty()), so it takes
  /// responsibility for the A/D bits it saw, as an exchange does.
  @inlinable public func fullTeardownRead(
    _ s: PackedState, _ actor: Actor, pte p: Int, _ events: inout Events
  ) -> PTE {
    let v = ptepGet(s, actor, pte: p, &events)
    s[layout.unowned[p]] = 0
    return v
  }

  /// `native_pte_clear()`, the second half of `ptep_get_and_clear_full(p, 1)`: a plain
  /// store of `none` straight to the page table, with no hypervisor notification (never
  /// batched, and in shadow mode the shadow is not synced). Safe only when no CPU can
  /// still use the mm: a Dirty bit set since the first half's plain read is lost.
  @inlinable public func nativeClear(
    _ s: PackedState, _ actor: Actor, pte p: Int, _ events: inout Events
  ) {
    issueWrite(s, actor, pte: p, value: .none, &events)
    land(s, pte: p, value: .none, preserveAD: false, &events)
  }
}
