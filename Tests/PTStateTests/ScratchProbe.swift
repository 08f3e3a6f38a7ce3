import PTState
import Testing

@Test func probeShadow() {
  let f = Fixture(mode: .direct)
  _ = f.modifyProtStart(0, 0)
  print("A", f.access(1, 0, .write))
  print("B", f.modifyProtCommit(0, 0, .rw(1)), f.snap.mem, f.snap.logical, f.snap.unowned)
  print("C", f.setPTE(0, 0, .ro(1)), f.snap.mem, f.snap.logical, f.snap.unowned)
  let g = Fixture(mode: .direct)
  g.enter(0)
  g.modifyProtCommit(0, 0, .rw(2))
  g.setPTE(0, 0, .rw(3))
  print("D", g.access(1, 0, .write))
  print("E", g.leave(0), g.snap.mem, g.snap.logical, g.snap.unowned)
  g.lock(0)
  print("F", g.get(0, 0))
}
