#if canImport(Glibc)
  import Glibc
#elseif canImport(Musl)
  import Musl
#elseif canImport(Darwin)
  import Darwin
#endif

/// `count` zeroed elements of `size` bytes for a hash table's slots, written at once, not
/// left to `calloc`. A table is probed (read) before it is written: a page of `calloc`'s
/// lazily zeroed memory is then mapped to the shared zero page first and copied on the
/// first write, a second fault whose TLB flush, once the search runs on several threads,
/// interrupts every other core (perf showed it in the parallel merge). Nil when memory
/// could not be had.
func allocateZeroed(_ count: Int, _ size: Int) -> UnsafeMutableRawPointer? {
  let (bytes, overflow) = count.multipliedReportingOverflow(by: size)
  guard !overflow, let raw = malloc(max(bytes, 1)) else { return nil }
  memset(raw, 0, bytes)
  return raw
}
