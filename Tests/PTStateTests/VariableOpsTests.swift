import PTState
import Testing

/// Declared kernel state in the machine: where each copy lives, whose copy `current`
/// names, and the range check on writes.
@Suite("Declared variables: copies, current, ranges")
struct VariableOpsTests {
  /// Two CPUs; a task (program 0) starting on cpu0 and a handler (program 1) on cpu0; a
  /// global 0..2 starting at 1, a percpu bool array of 2, a pertask enum 0..3.
  func machine() -> (Machine, UnsafeMutablePointer<UInt64>) {
    var config = MachineConfig(
      mode: .native, cpuCount: 2, pteCount: 1, lockCount: 0, ptlOf: [nil], batchLimit: 4,
      registerCount: [1, 1], pcLimit: [2, 2], tlbCached: [[false], [false]],
      trackedHardwareBits: PTE.dirtyBit, initialPTEs: [.none])
    config.pinnedCPU = [nil, nil]
    config.initialCPU = [0, nil]
    config.handlerCPU = [nil, 0]
    config.taskOfProgram = [0, nil]
    config.variables = [
      VariableShape(copies: .global, elements: 1, low: 0, high: 2, initial: 1),
      VariableShape(copies: .perCPU, elements: 2, low: 0, high: 1, initial: 0),
      VariableShape(copies: .perTask, elements: 1, low: 0, high: 3, initial: 2),
    ]
    return buildMachine(config, batchSlots: [3, 3])
  }

  @Test("every copy and element has its own field, with its initial value")
  func layout() {
    let (m, w) = machine()
    defer { w.deallocate() }
    let s = PackedState(w, wordCount: m.layout.wordCount)
    #expect(m.layout.variables.map(\.count) == [1, 4, 1])
    let fields = m.layout.variables.joined().map { "\($0.word):\($0.shift)" }
    #expect(Set(fields).count == fields.count)
    #expect(m.variableField(0, copy: 0, element: 0).map { s[$0] } == 1)
    #expect(m.variableField(2, copy: 0, element: 0).map { s[$0] } == 2)
    #expect(m.snapshot(s).variables == [[1], [0, 0, 0, 0], [2]])
    #expect(m.variableField(1, copy: 1, element: 2) == nil)  // past the array
    #expect(m.variableField(1, copy: 2, element: 0) == nil)  // no cpu2
  }

  @Test("a task's current is itself; a handler's is the task it interrupted, or none")
  func current() {
    let (m, w) = machine()
    defer { w.deallocate() }
    let s = PackedState(w, wordCount: m.layout.wordCount)
    let task = Actor(program: ProgramIndex(0), cpu: CPUIndex(0))
    let handler = Actor(program: ProgramIndex(1), cpu: CPUIndex(0))
    #expect(m.currentTask(s, task) == 0)
    #expect(m.enterInterrupt(s, cpu: 0, handler: 1))
    #expect(m.currentTask(s, handler) == 0)
    s[m.layout.current[0]] = 0  // the task is switched out: cpu0 runs nothing
    #expect(m.currentTask(s, handler) == nil)
  }

  @Test("a write outside the variable's range is a fault and changes nothing")
  func ranges() {
    let (m, w) = machine()
    defer { w.deallocate() }
    let s = PackedState(w, wordCount: m.layout.wordCount)
    let f = m.variableField(0, copy: 0, element: 0) ?? .absent
    var e = Events()
    m.writeVariable(s, 0, f, 2, &e)
    #expect(e.isEmpty && s[f] == 2)
    m.writeVariable(s, 0, f, 3, &e)
    #expect(e == .variableFault && s[f] == 2)
    e = Events()
    m.writeVariable(s, 0, f, -1, &e)
    #expect(e == .variableFault && s[f] == 2)
  }
}
