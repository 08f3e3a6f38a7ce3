#if canImport(Glibc)
  import Glibc
#elseif canImport(Musl)
  import Musl
#elseif canImport(Darwin)
  import Darwin
#endif

/// A path as the operating system spells it: bytes, which need not be UTF-8 (a Linux file
/// name is any bytes but '/' and NUL). A `String` cannot hold such a name, so paths stay
/// bytes from the command line to `open`; `description` is the text for messages.
public struct SpecPath: Hashable, Sendable, CustomStringConvertible, ExpressibleByStringLiteral {
  public var bytes: [UInt8]

  public init(bytes: [UInt8]) { self.bytes = bytes }
  public init(_ string: String) { bytes = Array(string.utf8) }
  public init(stringLiteral value: String) { self.init(value) }

  /// The path as text; bytes that are not UTF-8 show as U+FFFD.
  public var description: String { String(decoding: bytes, as: UTF8.self) }

  func withCString<R>(_ body: (UnsafePointer<CChar>) -> R) -> R {
    (bytes + [0]).withUnsafeBufferPointer { buffer in
      buffer.withMemoryRebound(to: CChar.self) { chars in
        guard let base = chars.baseAddress else { preconditionFailure("a C string is never empty") }
        return body(base)
      }
    }
  }
}

/// Finding and reading spec files with POSIX calls on byte paths (Foundation's file APIs
/// take `String` paths, so they cannot open a file whose name is not UTF-8).
enum SpecFiles {
  /// Every `*.spec` file under the given paths, in order: a file as given, a directory
  /// searched recursively (not through symbolic links to directories) in sorted order
  /// of the relative paths' bytes.
  static func find(_ paths: [SpecPath]) -> (files: [SpecPath], missing: [SpecPath]) {
    var files: [SpecPath] = []
    var missing: [SpecPath] = []
    for path in paths {
      guard let isDirectory = isDirectory(path, followingLinks: true) else {
        missing.append(path)
        continue
      }
      guard isDirectory else {
        files.append(path)
        continue
      }
      var base = path.bytes
      while base.count > 1, base.last == UInt8(ascii: "/") { base.removeLast() }
      var found: [[UInt8]] = []
      walk(base, relative: [], into: &found)
      found.sort { $0.lexicographicallyPrecedes($1) }
      let prefix = base == [UInt8(ascii: "/")] ? base : base + [UInt8(ascii: "/")]
      files += found.map { SpecPath(bytes: prefix + $0) }
    }
    return (files, missing)
  }

  /// nil if nothing is at `path`.
  static func isDirectory(_ path: SpecPath, followingLinks: Bool) -> Bool? {
    var info = stat()
    let status = path.withCString { followingLinks ? stat($0, &info) : lstat($0, &info) }
    guard status == 0 else { return nil }
    return info.st_mode & S_IFMT == S_IFDIR
  }

  private static func walk(_ base: [UInt8], relative: [UInt8], into found: inout [[UInt8]]) {
    let directory = relative.isEmpty ? base : base + [UInt8(ascii: "/")] + relative
    guard let stream = SpecPath(bytes: directory).withCString({ opendir($0) }) else { return }
    defer { closedir(stream) }
    let suffix = Array(".spec".utf8)
    while let entry = readdir(stream) {
      let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
        Array(raw.prefix { $0 != 0 })
      }
      if name == [UInt8(ascii: ".")] || name == Array("..".utf8) { continue }
      let child = relative.isEmpty ? name : relative + [UInt8(ascii: "/")] + name
      let full = SpecPath(bytes: base + [UInt8(ascii: "/")] + child)
      if isDirectory(full, followingLinks: false) == true {
        walk(base, relative: child, into: &found)
      } else if name.count >= suffix.count, name.suffix(suffix.count).elementsEqual(suffix) {
        found.append(child)
      }
    }
  }

  /// The file's bytes, or nil if it cannot be read.
  static func contents(_ path: SpecPath) -> [UInt8]? {
    let fd = path.withCString { open($0, O_RDONLY) }
    guard fd >= 0 else { return nil }
    defer { close(fd) }
    var bytes: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 1 << 16)
    while true {
      let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
      if n < 0, errno == EINTR { continue }
      guard n >= 0 else { return nil }
      if n == 0 { return bytes }
      bytes += chunk[0..<n]
    }
  }

  /// The text of a spec file: UTF-8, a leading byte-order mark dropped; nil if not UTF-8.
  static func text(_ bytes: [UInt8]) -> String? {
    let bom: [UInt8] = [0xEF, 0xBB, 0xBF]
    let body = bytes.starts(with: bom) ? bytes[3...] : bytes[...]
    return String(validating: body, as: UTF8.self)
  }
}
