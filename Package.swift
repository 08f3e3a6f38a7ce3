// swift-tools-version: 6.0
// modelcheck: an explicit-state model checker for the Linux kernel's lazy MMU mode.
// No package dependencies: the Swift toolchain only.
import PackageDescription

let package = Package(
  name: "modelcheck",
  products: [
    .executable(name: "modelcheck", targets: ["ModelCheckCLI"]),
    .library(name: "ModelCheck", targets: ["ModelCheck"]),
    .library(name: "PTState", targets: ["PTState"]),
  ],
  dependencies: [],
  targets: [
    // The machine: PTEs, locks, lazy batches, TLBs, hardware, paging modes. Knows nothing of search.
    .target(name: "PTState"),
    // Spec language -> compiled transition system -> explorer -> verdicts -> reports.
    .target(name: "ModelCheck", dependencies: ["PTState"]),
    // Thin command-line layer; the product is named `modelcheck`.
    .executableTarget(name: "ModelCheckCLI", dependencies: ["ModelCheck"]),
    .testTarget(name: "PTStateTests", dependencies: ["PTState"]),
    .testTarget(
      name: "ModelCheckTests", dependencies: ["ModelCheck", "PTState"],
      exclude: ["Snapshots", "Fixtures"]),
  ],
  swiftLanguageModes: [.v6]
)
