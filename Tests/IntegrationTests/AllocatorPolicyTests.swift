import DXRuntime
import Testing

/// dx-indicators keeps memory freed between batches (see `AllocatorPolicy`); an operator's
/// `GLIBC_TUNABLES` wins over it.
@Suite("AllocatorPolicy")
struct AllocatorPolicyTests {
    @Test("dx-indicators' policy sets glibc's mmap threshold, trim threshold and top pad, and glibc accepts all three")
    func keepsFreedMemory() {
        let policy = AllocatorPolicy.keepFreedMemory
        #expect(policy.settings.map(\.description) == ["M_MMAP_THRESHOLD=33554432", "M_TRIM_THRESHOLD=2147483647", "M_TOP_PAD=134217728"])
        #expect(policy.apply(environment: ["PATH": "/usr/bin"]) == .applied(policy.settings))
    }

    @Test("with GLIBC_TUNABLES set, the allocator is left as the environment says")
    func environmentWins() {
        let tunables = "glibc.malloc.trim_threshold=1048576"
        #expect(AllocatorPolicy.keepFreedMemory.apply(environment: ["GLIBC_TUNABLES": tunables]) == .leftToEnvironment(tunables))
    }

    @Test("the other services keep glibc's defaults")
    func systemDefault() {
        #expect(AllocatorPolicy.systemDefault.settings.isEmpty)
        #expect(AllocatorPolicy.systemDefault.apply(environment: [:]) == .unchanged)
    }
}
