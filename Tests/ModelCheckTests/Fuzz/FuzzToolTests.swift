import Foundation
import Testing

@testable import ModelCheck

/// The fuzzer's own tools: if they were wrong, its findings would be too.
@Suite struct FuzzToolTests {
  @Test("SplitMix64 is the published sequence, so every run makes the same inputs")
  func prng() {
    // The first outputs for seed 0 (Vigna's reference implementation).
    var r = SplitMix64(seed: 0)
    #expect(r.next() == 0xE220_A839_7B1D_CDAF)
    #expect(r.next() == 0x6E78_9E6A_A1B9_65F4)
    var a = SplitMix64(seed: 7, index: 3)
    var b = SplitMix64(seed: 7, index: 3)
    #expect((0..<10).map { _ in a.next() } == (0..<10).map { _ in b.next() })
  }

  /// Where the real lexer accepts a text, the fuzzer's lexer must cut the same tokens,
  /// or renaming would rename something else than identifiers.
  @Test("the fuzzer's lexer agrees with Spec/Lexer on the corpus and on mutants")
  func lexerAgrees() throws {
    var texts = try FuzzTests.corpus().map(\.text)
    var rng = SplitMix64(seed: FuzzTests.seed, index: -3000)
    for _ in 0..<300 {
      var s = rng.pick(texts).scalars
      _ = Mutator.mutate(&s, rng: &rng)
      texts.append(String(scalars: s))
    }
    var compared = 0
    for text in texts {
      guard let real = try? Lexer.tokenize(text) else { continue }
      compared += 1
      let s = text.scalars
      var line = 1
      var column = 1
      var offset = 0
      var mine: [String] = []
      for t in FuzzLexer.tokens(s) {
        while offset < t.range.lowerBound {
          // A line ends at LF, or at a CR not followed by LF (as the real lexer counts).
          let endsLine =
            s[offset] == "\n"
            || (s[offset] == "\r" && (offset + 1 == s.count || s[offset + 1] != "\n"))
          if endsLine { (line, column) = (line + 1, 1) } else { column += 1 }
          offset += 1
        }
        guard t.kind != .space, t.kind != .comment else { continue }
        mine.append("\(line):\(column)+\(t.range.count) \(t.kind)")
      }
      let theirs = real.dropLast().map { t -> String in
        let kind: String
        switch t.kind {
        case .identifier: kind = "identifier"
        case .integer: kind = "integer"
        case .string: kind = "string"
        case .symbol: kind = "symbol"
        case .end: kind = "end"
        }
        return "\(t.range.start.line):\(t.range.start.column)+\(t.range.length) \(kind)"
      }
      #expect(mine == theirs, "\(text.debugDescription)")
    }
    #expect(compared > 100)
  }

  @Test("renaming maps every non-keyword identifier to a fresh name, consistently")
  func rename() {
    let text = "cpu c0 { var x\n x = ptep_get(a) // c0 a\n set_pte(a, x | dirty) }\ntitle \"c0\"\n"
    let renamed = Metamorphic.rename(text, salt: 1)
    #expect(!renamed.contains("c0 {") && !renamed.contains("(a)"))
    #expect(renamed.contains("// c0 a") && renamed.contains("title \"c0\""))
    #expect(renamed.contains("ptep_get(") && renamed.contains("| dirty"))
    #expect(Metamorphic.rename(renamed, salt: 1).count > 0)
  }

  @Test("top-level chunks of every corpus spec put back together are the spec")
  func chunks() throws {
    for spec in try FuzzTests.corpus() {
      let chunks = Metamorphic.topLevelChunks(spec.text)
      let joined = chunks.joined()
      #expect(joined == spec.text || joined == spec.text + "\n", "\(spec.path)")
      #expect(chunks.count >= 4, "\(spec.path)")
    }
  }

  @Test("generated specs compile in-process, for every seed tried")
  func generatedCompile() {
    for index in 0..<200 {
      var generator = SpecGenerator(rng: SplitMix64(seed: FuzzTests.seed, index: index))
      let text = generator.generate().joined(separator: "\n") + "\n"
      if case .failure(let e) = compile(text) { Issue.record("\(e.rendered)\n\(text)") }
    }
  }
}
