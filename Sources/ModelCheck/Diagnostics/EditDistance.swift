/// Levenshtein distance, for "did you mean" hints on unknown names.
func editDistance(_ a: String, _ b: String) -> Int {
  let a = Array(a.unicodeScalars)
  let b = Array(b.unicodeScalars)
  if a.isEmpty { return b.count }
  if b.isEmpty { return a.count }
  var previous = Array(0...b.count)
  var current = [Int](repeating: 0, count: b.count + 1)
  for i in 1...a.count {
    current[0] = i
    for j in 1...b.count {
      current[j] = min(
        previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
    }
    swap(&previous, &current)
  }
  return previous[b.count]
}

/// The closest candidate within a small distance, if any.
func closestName(to name: String, in candidates: [String]) -> String? {
  let limit = max(1, name.count / 3)
  var best: (String, Int)?
  for c in candidates {
    let d = editDistance(name, c)
    if d <= limit, d < (best?.1 ?? .max) { best = (c, d) }
  }
  return best?.0
}
