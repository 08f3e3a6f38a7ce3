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

/// Maps in the pages of `bytes` at `raw` for writing, without writing them (Linux's
/// `MADV_POPULATE_WRITE`; elsewhere, or on a kernel without it, nothing): their page
/// faults are taken here, by the caller's thread, not by the thread that writes there
/// later. The contents do not change, so another thread may write there meanwhile.
func populate(_ raw: UnsafeMutableRawPointer, bytes: Int) {
  #if os(Linux)
    let page = Int(sysconf(Int32(_SC_PAGESIZE)))
    let start = (Int(bitPattern: raw) + page - 1) & ~(page - 1)
    let end = (Int(bitPattern: raw) + bytes) & ~(page - 1)
    guard end > start, let p = UnsafeMutableRawPointer(bitPattern: start) else { return }
    _ = madvise(p, end - start, 23)  // MADV_POPULATE_WRITE (Linux 5.14)
  #endif
}
