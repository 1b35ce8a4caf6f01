/// The fake's dice: every random choice it makes for a call (its outcome from the mix, its callback faults) is a pure
/// function of the seed, a key naming the call, and a salt naming the question, so a run is reproducible.
///
/// The key is the destination and how many calls it had before (``FakeCall/dialIndex``), never the SID (random) nor the
/// order calls to different numbers arrive in: the same campaign against the same seed gets the same outcomes, however
/// its calls interleave. FNV-1a over the bytes, then SplitMix64's finalizer: stable across processes and platforms,
/// unlike `Hasher`, which is seeded per process.
struct FakeDice: Sendable, Hashable {
    let seed: UInt64
    let key: String

    /// The dice of the call numbered `dialIndex` (0 for the first) to `to`.
    init(seed: UInt64, to: String, dialIndex: Int) {
        self.seed = seed
        self.key = "\(to)#\(dialIndex)"
    }

    /// 64 well-mixed bits for the question `salt`.
    func bits(_ salt: String) -> UInt64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325 ^ seed
        for byte in key.utf8 { hash = (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01b3 }
        // A byte no key or salt holds keeps ("ab", "c") and ("a", "bc") apart.
        hash = (hash ^ 0xff) &* 0x0000_0100_0000_01b3
        for byte in salt.utf8 { hash = (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01b3 }
        var z = hash &+ 0x9e37_79b9_7f4a_7c15
        z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
        z = (z ^ (z >> 27)) &* 0x94d0_49bb_1331_11eb
        return z ^ (z >> 31)
    }

    /// A number in [0, 1).
    func unit(_ salt: String) -> Double {
        Double(bits(salt) >> 11) / Double(UInt64(1) << 53)
    }

    /// Whether an event of probability `probability` happens.
    func happens(_ probability: Double, _ salt: String) -> Bool {
        probability > 0 && unit(salt) < probability
    }

    /// A whole number in `range`, each equally likely.
    func int(in range: ClosedRange<Int>, _ salt: String) -> Int {
        range.lowerBound + Int(bits(salt) % UInt64(range.count))
    }

    /// One of `choices`, each as likely as its weight (weights of 0 or less are never picked); the first when all are.
    func pick<T>(_ choices: [(T, Double)], _ salt: String) -> T {
        let total = choices.reduce(0) { $0 + max(0, $1.1) }
        guard total > 0 else { return choices[0].0 }
        var roll = unit(salt) * total
        for (choice, weight) in choices where weight > 0 {
            if roll < weight { return choice }
            roll -= weight
        }
        return choices.last { $0.1 > 0 }!.0
    }
}
