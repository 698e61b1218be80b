#if canImport(Glibc)
import CMalloc
#endif
import Logging

/// What the process's allocator does with memory freed between batches. glibc gives large
/// freed blocks back to the kernel (unmapping them, trimming the heap, dropping a thread's whole
/// heap once it is empty), and the next batch then takes them back page by page, each page
/// zeroed by the kernel: dx-indicators frees and allocates tens of megabytes a batch (its
/// changes, rows and messages), and that zeroing was 16% of its CPU in the national load.
public enum AllocatorPolicy: Sendable, Equatable {
    /// glibc's defaults.
    case systemDefault
    /// Freed memory stays with the process for the next batch: blocks up to 32 MiB come from the
    /// heap instead of their own mapping, the heap is not trimmed, and each heap keeps 128 MiB
    /// of room, so an emptied thread heap is kept rather than unmapped. The peak stays what the
    /// largest batch needs; the resident size no longer falls between batches.
    case keepFreedMemory

    /// A `mallopt` setting: its parameter, and its name in `<malloc.h>` for the log.
    public struct Setting: Sendable, Equatable, CustomStringConvertible {
        public var name: String
        var parameter: Int32
        public var value: Int32
        public var description: String { "\(name)=\(value)" }
    }

    public enum Outcome: Sendable, Equatable {
        /// Nothing to do (`systemDefault`).
        case unchanged
        /// `GLIBC_TUNABLES` is set: whoever set it chose the allocator's settings.
        case leftToEnvironment(String)
        /// Every setting applied.
        case applied([Setting])
        /// A setting the allocator refused (or an allocator without `mallopt`).
        case refused(Setting?)
    }

    public var settings: [Setting] {
        switch self {
        case .systemDefault: return []
        case .keepFreedMemory:
            #if canImport(Glibc)
            return [
                Setting(name: "M_MMAP_THRESHOLD", parameter: M_MMAP_THRESHOLD, value: 32 << 20),
                Setting(name: "M_TRIM_THRESHOLD", parameter: M_TRIM_THRESHOLD, value: Int32.max),
                Setting(name: "M_TOP_PAD", parameter: M_TOP_PAD, value: 128 << 20),
            ]
            #else
            return []
            #endif
        }
    }

    /// Applies the policy to this process, unless `GLIBC_TUNABLES` is in `environment`.
    public func apply(environment: [String: String]) -> Outcome {
        if self == .systemDefault { return .unchanged }
        if let tunables = environment["GLIBC_TUNABLES"], !tunables.isEmpty { return .leftToEnvironment(tunables) }
        #if canImport(Glibc)
        for setting in settings where mallopt(setting.parameter, setting.value) != 1 { return .refused(setting) }
        return .applied(settings)
        #else
        return .refused(nil)
        #endif
    }

    /// Applies the policy and says what happened.
    public func apply(environment: [String: String], logger: Logger) {
        switch apply(environment: environment) {
        case .unchanged: break
        case .leftToEnvironment(let tunables):
            logger.info("allocator left as GLIBC_TUNABLES sets it", metadata: ["GLIBC_TUNABLES": "\(tunables)"])
        case .applied(let settings):
            logger.info("allocator keeps freed memory for the next batch", metadata: ["mallopt": "\(settings.map(\.description).joined(separator: " "))"])
        case .refused(let setting):
            logger.warning("allocator settings not applied; freed memory goes back to the kernel", metadata: ["refused": "\(setting?.description ?? "mallopt unavailable")"])
        }
    }
}
