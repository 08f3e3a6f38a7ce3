import PTState

/// `deadlock_free`: no reachable state where a program is unfinished and nothing can
/// move, or nothing that moves changes anything. Decided by the explorer on each state it
/// expands (`BreadthFirst.run`); progress actions are `Program.isProgress`.
extension PropertyDescriptor {
  static let deadlockFree = PropertyDescriptor(
    kind: .deadlockFree, decision: .onState, raisedBy: [],
    help: [
      "no state where some program is unfinished and none can move,",
      "or where nothing that moves changes anything (a spin that",
      "can never succeed)",
    ],
    explain: { trace, p in Explanation.deadlock(trace.steps.last?.after ?? trace.initial, p) })
}

extension Explanation {
  static func deadlock(_ s: MachineSnapshot, _ p: Program) -> String {
    var waits: [String] = []
    var lockWaiters = 0
    var spinning = false
    var crossCalls = 0
    for c in p.spec.cpus.indices {
      let pc = s.contexts[c].pc
      switch p.instruction(cpu: c, pc: pc) {
      case .end, .switchIdle, .crossCallIdle: continue
      case .spinLock(let l):
        let holder = s.lockHolder[Int(l)].map { cpuName(p, $0) } ?? "nobody"
        waits.append("\(cpuName(p, c)) waits for \(p.spec.lockNames[Int(l)]) held by \(holder)")
        lockWaiters += 1
      case .flushTLBWait(let x):
        let targets = s.cpus.indices.filter { s.cpus[$0].ipiPending[Int(x)] }
        let why = targets.map { t in
          let cpu = s.cpus[t]
          let state =
            cpu.inIRQ.map { "is inside interrupt handler \(cpuName(p, $0))" }
            ?? (cpu.irqsOff ? "has interrupts off" : "has not taken it")
          return "\(p.spec.cpuNames[t]) \(state)"
        }
        waits.append(
          "\(cpuName(p, c)) waits in flush_tlb_wait(\(p.spec.pteNames[Int(x)])) for "
            + "the shootdown IPI it sent, but \(why.joined(separator: " and ")), so it cannot take "
            + "it"
        )
      case .crossCall(_, let f):
        waits.append(crossCallWait(s, p, caller: c, function: Int(f), waiting: false))
        crossCalls += 1
      case .crossCallWait(_, let f):
        waits.append(crossCallWait(s, p, caller: c, function: Int(f), waiting: true))
        crossCalls += 1
      default:
        guard p.machine.config.isHandler(c) ? s.contexts[c].cpu != nil : true,
          let loop = p.loops.last(where: { $0.cpu == c && $0.pcs.contains(pc) })
        else { continue }
        spinning = true
        waits.append(
          "\(cpuName(p, c)) spins in its loop\(line(loop.source)) and nothing it "
            + "looks at can change")
      }
    }
    if waits.isEmpty { return "some program has not finished and no program can move" }
    if spinning {
      return waits.joined(separator: ", and ") + ": nobody can make progress (a busy-wait that "
        + "can never succeed: the waker needs something the waiter holds)"
    }
    var holders: [Int] = []
    for c in p.spec.cpus.indices {
      if case .spinLock(let l) = p.instruction(cpu: c, pc: s.contexts[c].pc),
        let h = s.lockHolder[Int(l)]
      {
        holders.append(h == c ? -1 : h)
      }
    }
    let why: String
    if crossCalls > 0 {
      why = "a cross-call's target cannot run the function while the caller holds what it needs"
    } else if lockWaiters < waits.count {
      why = "a CPU spinning with interrupts off cannot take the shootdown IPI it is waited for"
    } else {
      why =
        holders.contains(-1)
        ? "a program spins on a lock it already holds"
        : (waits.count > 1
          ? "the locks are taken in opposite orders" : "the lock's holder cannot release it")
    }
    return waits.joined(separator: ", and ") + ": nobody can move (\(why))"
  }
}
