// spin_lock / spin_unlock: the split page-table lock (ptl) and any other spinlock.

extension Machine {
  /// `spin_lock(l)`: enabled only while the lock is free (a CPU spinning is a CPU that
  /// cannot move). Returns false when the step is not enabled.
  @inlinable public func spinLock(_ s: PackedState, _ actor: Actor, lock l: Int) -> Bool {
    let f = layout.lockHolder[l]
    guard s[f] == 0 else { return false }
    s[f] = UInt64((actor.program.rawValue) + 1)  // the program holds the lock, wherever it runs
    return true
  }

  /// `spin_unlock(l)`. Releasing a lock while a write of a PTE it protects is still queued
  /// breaks the founding rule (`lazy_balanced`): the lazy section must sit inside the ptl,
  /// whichever was entered first. So does releasing the lock lazy mode was entered under
  /// while the batch still holds entries.
  @inlinable public func spinUnlock(
    _ s: PackedState, _ actor: Actor, lock l: Int, _ events: inout Events
  ) {
    let f = layout.lockHolder[l]
    let me = actor.program.rawValue
    guard s[f] == UInt64(me + 1) else {
      events.insert(.unlockNotHeld)
      return
    }
    if let rule = releasesQueuedWrite(s, actor, lock: l) {
      events.raise(.lazyUnbalanced) { .lazyUnbalanced(program: me, rule: rule) }
    }
    exposeOwedFlushes(s, lock: l)
    exposeStalePGDs(s, lock: l)
    s[f] = 0
  }

  /// Whether releasing `l` now leaves an update behind it in a batch: the program has a write
  /// queued of a PTE that `l` protects, or `l` was held at the enter of the lazy section
  /// whose batch is not empty.
  @inlinable func releasesQueuedWrite(_ s: PackedState, _ actor: Actor, lock l: Int)
    -> LazyBalancedRule?
  {
    let (cpu, task) = (actor.cpu.rawValue, actor.program.rawValue)
    if let lazy = lazyFields(s, actor), s[lazy.flag] != 0,
      s[layout.batchCount[cpu]] != 0, s[lazy.locks] & (1 << UInt64(l)) != 0
    {
      return .unlockEnteredUnder(lock: l, queued: batchCount(s, cpu: cpu))
    }
    for p in 0..<config.pteCount where config.ptlOf[p] == l {
      if hasQueuedWrite(s, program: task, pte: p) { return .unlockWithQueuedWrite(lock: l, pte: p) }
    }
    return nil
  }
}
