// The 2025 generic lazy MMU API with nesting ("mm: enable lazy_mmu sections to nest",
// Kevin Brodsky): lazy_mmu_mode_enable/disable/pause/resume over per-task counters
// enable_count and pause_count (here per program: a CPU program, a task or a handler).
// Only the outermost enable/disable reach arch_enter/arch_leave; a nested disable
// flushes; pause leaves the mode whatever the depth and resume re-enters it; calls between
// pause and resume have no effect. Also preempt_disable/enable and might_sleep().

extension Machine {
  /// With `interrupts_never_lazy`, every lazy_mmu_mode_* call in a handler does nothing
  /// ("mm: bail out of lazy_mmu_mode_* in interrupt context").
  @inlinable func inInterruptNeverLazy(_ task: Int) -> Bool {
    config.interruptsNeverLazy && config.isHandler(task)
  }

  @inlinable func bump(_ s: PackedState, _ f: Field, _ events: inout Events) -> Bool {
    let n = s[f]
    guard n < UInt64(MachineConfig.maxCount) else {
      events.insert(.counterOverflow)
      return false
    }
    s[f] = n + 1
    return true
  }

  /// `lazy_mmu_mode_enable()`.
  @inlinable public func lazyMMUEnable(
    _ s: PackedState, cpu: Int, task: Int? = nil, _ events: inout Events
  ) {
    if inInterruptNeverLazy(task ?? cpu) { return }  // no-ops in interrupt context
    guard s[layout.pauseCount[task ?? cpu]] == 0 else { return }
    guard bump(s, layout.enableCount[task ?? cpu], &events) else { return }
    if s[layout.enableCount[task ?? cpu]] == 1 { enterLazy(s, cpu: cpu, task: task, &events) }
  }

  /// `lazy_mmu_mode_disable()`: the outermost leaves, a nested one flushes; afterwards the
  /// caller's earlier writes must have taken effect.
  @inlinable public func lazyMMUDisable(
    _ s: PackedState, cpu: Int, task: Int? = nil, _ events: inout Events
  ) {
    if inInterruptNeverLazy(task ?? cpu) { return }  // no-ops in interrupt context
    guard s[layout.pauseCount[task ?? cpu]] == 0 else { return }
    let f = layout.enableCount[task ?? cpu]
    guard s[f] > 0 else {
      events.raise(.lazyNesting) { .lazyNesting(program: task ?? cpu, rule: .disableUnderflow) }
      return
    }
    s[f] -= 1
    if s[f] == 0 {
      leaveLazy(s, cpu: cpu, task: task, &events)
    } else {
      flushLazy(s, cpu: cpu, task: task, &events)
    }
    if batchCount(s, cpu: cpu) != 0 {
      events.raise(.lazyNesting) {
        .lazyNesting(program: task ?? cpu, rule: .disableLeavesQueued)
      }
    }
  }

  /// `lazy_mmu_mode_pause()`: leaves the mode whatever the depth.
  @inlinable public func lazyMMUPause(
    _ s: PackedState, cpu: Int, task: Int? = nil, _ events: inout Events
  ) {
    if inInterruptNeverLazy(task ?? cpu) { return }  // no-ops in interrupt context
    guard bump(s, layout.pauseCount[task ?? cpu], &events) else { return }
    if s[layout.pauseCount[task ?? cpu]] == 1, s[layout.enableCount[task ?? cpu]] > 0 {
      leaveLazy(s, cpu: cpu, task: task, &events)
    }
  }

  /// `lazy_mmu_mode_resume()`: re-enters at the same depth.
  @inlinable public func lazyMMUResume(
    _ s: PackedState, cpu: Int, task: Int? = nil, _ events: inout Events
  ) {
    if inInterruptNeverLazy(task ?? cpu) { return }  // no-ops in interrupt context
    let f = layout.pauseCount[task ?? cpu]
    guard s[f] > 0 else {
      events.raise(.lazyNesting) { .lazyNesting(program: task ?? cpu, rule: .resumeUnderflow) }
      return
    }
    s[f] -= 1
    if s[f] == 0, s[layout.enableCount[task ?? cpu]] > 0 {
      enterLazy(s, cpu: cpu, task: task, &events)
    }
  }

  /// `preempt_disable()` / `preempt_enable()`.
  @inlinable public func preemptDisable(
    _ s: PackedState, cpu: Int, task: Int? = nil, _ events: inout Events
  ) {
    _ = bump(s, layout.preemptCount[task ?? cpu], &events)
  }

  @inlinable public func preemptEnable(
    _ s: PackedState, cpu: Int, task: Int? = nil, _ events: inout Events
  ) {
    let f = layout.preemptCount[task ?? cpu]
    guard s[f] > 0 else {
      events.insert(.preemptUnderflow)
      return
    }
    s[f] -= 1
  }

  /// Whether the program is in atomic context: preemption disabled explicitly, by a held
  /// spinlock, or by a lazy section on an arch that disables preemption there; or it is an
  /// interrupt handler, or interrupts are off on its CPU.
  @inlinable public func isAtomic(_ s: PackedState, cpu: Int, task: Int? = nil) -> Bool {
    s[layout.preemptCount[task ?? cpu]] != 0 || locksHeld(s, by: task ?? cpu) != 0
      || (config.lazyDisablesPreemption && isLazy(s, cpu: cpu, task: task))
      || config.isHandler(task ?? cpu) || s[layout.irqsOff[cpu]] != 0
  }

  /// `might_sleep()` (a GFP_KERNEL allocation, a mutex): sleeping in atomic context is a bug.
  @inlinable public func mightSleep(
    _ s: PackedState, cpu: Int, task: Int? = nil, _ events: inout Events
  ) {
    if isAtomic(s, cpu: cpu, task: task) { events.insert(.sleepInAtomic) }
  }
}
