import Foundation
import PTState
import Testing

@testable import ModelCheck

/// The property table is the one home of a property outside PTState: it must cover every
/// property, in order, and what it drives (`--help`, the event map, the docs) must agree.
@Suite struct PropertyTableTests {
  @Test("one descriptor per property, in PropertyKind's order")
  func coversEveryProperty() {
    #expect(PropertyTable.all.map(\.kind) == PropertyKind.allCases)
  }

  @Test("every property is in --help, with lines that fit 88 columns")
  func help() {
    for kind in PropertyKind.allCases { #expect(Options.help.contains("  \(kind.name) ")) }
    for line in Options.help.split(separator: "\n") { #expect(line.count <= 88, "\(line)") }
  }

  @Test("every property has a section in docs/properties.md")
  func documented() throws {
    let url = packageRoot.appendingPathComponent("docs/properties.md")
    let text = try String(contentsOf: url, encoding: .utf8)
    for kind in PropertyKind.allCases {
      #expect(text.contains("\n## \(kind.name)\n"), "\(kind.name)")
    }
  }

  @Test("step properties name the events that raise them; the map sends each to its property")
  func eventMap() {
    for d in PropertyTable.all {
      if case .onStep = d.decision { #expect(!d.raisedBy.isEmpty, "\(d.kind.name)") }
    }
    let map = PropertyTable.eventMap(checked: [.noStaleRead, .noLostDirty])
    #expect(map[Events.staleRead.rawValue.trailingZeroBitCount] == PropertyKind.noStaleRead.bit)
    #expect(map[Events.lostDirty.rawValue.trailingZeroBitCount] == PropertyKind.noLostDirty.bit)
    #expect(map[Events.staleTLB.rawValue.trailingZeroBitCount] == 0)  // not checked
  }

  @Test("graph properties are exactly the ones that need the whole graph")
  func graphProperties() {
    let graph = PropertyTable.all.filter(\.isGraphProperty).map(\.kind)
    #expect(graph == [.cmpxchgTerminates, .terminates, .reachable])
  }
}
