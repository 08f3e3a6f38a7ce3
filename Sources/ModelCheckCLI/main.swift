// modelcheck: the command-line layer over the ModelCheck library.
import Foundation
import ModelCheck

let options: Options
do {
  options = try Options.parse(Array(CommandLine.arguments.dropFirst()))
} catch {
  FileHandle.standardError.write(Data("modelcheck: error: \(error.message)\n".utf8))
  exit(Runner.ExitCode.usageOrSpecError.rawValue)
}
exit(Runner.run(options).rawValue)
