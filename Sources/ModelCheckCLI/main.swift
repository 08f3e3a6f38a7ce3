// modelcheck: the command-line layer over the ModelCheck library.
import Foundation
import ModelCheck

// The arguments as bytes: `CommandLine.arguments` repairs bytes that are not UTF-8, and
// then a spec whose name is not UTF-8 could not be opened.
let arguments = (1..<Int(CommandLine.argc)).map { i -> [UInt8] in
  guard let p = CommandLine.unsafeArgv[i] else { return [] }
  return Array(UnsafeBufferPointer(start: p, count: strlen(p))).map { UInt8(bitPattern: $0) }
}
var options: Options
do {
  options = try Options.parse(arguments: arguments)
} catch {
  FileHandle.standardError.write(Data("modelcheck: error: \(error.message)\n".utf8))
  exit(Runner.ExitCode.usageOrSpecError.rawValue)
}
// A crash while checking one spec must not end the run: each spec in its own process.
options.isolate = true
// ^C and `kill` stop the run cleanly: partial results, reports written, exit 130 or 143.
Interruption.install()
exit(Runner.run(options).rawValue)
