/// Evaluates postfix expression code over 8-bit values with a small stack on the
/// machine stack (an `InlineArray`: no allocation). Expressions are short: nesting is
/// capped by the parser.
enum ExpressionEvaluator {
  static let maxStack = 80

  @inline(__always)
  static func evaluate<Code: Collection<ExprOp>>(
    _ code: Code, registers: (UInt8) -> UInt8,
    state: (UInt8) -> UInt8 = { _ in 0 }
  ) -> UInt8 {
    do {
      var stack = InlineArray<80, UInt8>(repeating: 0)
      var top = 0
      for op in code {
        switch op {
        case .constant(let v):
          stack[top] = v
          top += 1
        case .register(let r):
          stack[top] = registers(r)
          top += 1
        case .stateRead(let i):
          stack[top] = state(i)
          top += 1
        case .bitNot: stack[top - 1] = ~stack[top - 1]
        case .logicalNot: stack[top - 1] = stack[top - 1] == 0 ? 1 : 0
        case .testBits(let m): stack[top - 1] = stack[top - 1] & m != 0 ? 1 : 0
        case .pfnOf: stack[top - 1] = stack[top - 1] >> 4
        case .makePFN: stack[top - 1] = (stack[top - 1] & 0xF) << 4
        default:
          let b = stack[top - 1]
          let a = stack[top - 2]
          top -= 1
          let r: UInt8
          switch op {
          case .and: r = a & b
          case .or: r = a | b
          case .xor: r = a ^ b
          case .equal: r = a == b ? 1 : 0
          case .notEqual: r = a != b ? 1 : 0
          case .logicalAnd: r = a != 0 && b != 0 ? 1 : 0
          case .logicalOr: r = a != 0 || b != 0 ? 1 : 0
          default: r = 0
          }
          stack[top - 1] = r
        }
      }
      return top > 0 ? stack[top - 1] : 0
    }
  }
}
