/// A hint to the processor to bring the cache line at `address` in, without waiting for it
/// (LLVM's prefetch intrinsic: read, keep in all levels, data). Unlike a load, it does not
/// hold back the instructions after it while the line comes from memory. The standard
/// library has no prefetch; binding the intrinsic by its name keeps the package Swift only.
@_silgen_name("llvm.prefetch.p0")
private func llvmPrefetch(
  _ address: UnsafeRawPointer, _ write: Int32, _ locality: Int32, _ data: Int32)

@inline(__always)
func prefetch(_ address: UnsafeRawPointer) {
  llvmPrefetch(address, 0, 3, 1)
}

/// `prefetch`, for a line about to be written.
@inline(__always)
func prefetchForWrite(_ address: UnsafeRawPointer) {
  llvmPrefetch(address, 1, 3, 1)
}
