import DXKafka
import DXModel
import DXStore
import Foundation
import Logging
import Metrics
import PostgresNIO
import Synchronization

/// Applies `dx.observations.v1` batches: each province's cells are computed in memory (loaded
/// from PostgreSQL on first use after an assignment, dropped when the partition goes or a
/// transaction fails), then the country's cells, which every partition shares, are recomputed
/// from the provinces' values under a lock (kept in memory too while no other writer changes
/// them, see `CountryCache`). Changes are written and the changed indicator values published
/// through the outbox, all in the batch's transaction.
final class EngineHandler: TransactionalBatchHandler {
    typealias Payload = ObservationBatch
    let schema = ObservationBatch.schema

    private let catalog: Catalog
    private let check: ObservationCheck
    private let repository: EngineRepository
    private let provinceEngine: IncrementalComputation
    private let countryEngine: IncrementalComputation
    private let outbox = Outbox(schema: "engine")
    /// Where the messages of a committed batch go for the relay of this process (nil: it reads
    /// them back from the outbox).
    private let outboxMemory: OutboxMemory?
    private let publication: IndicatorPublication
    private let logger: Logger
    private let state = Mutex(State())
    private let observationsApplied: Counter
    private let indicatorChanges: Counter
    private let provinceWrites: Counter
    /// Where a batch's time goes, by phase (`dx_engine_batch_phase_seconds`): computing its
    /// provinces (with their rows and messages, while earlier chunks are written), waiting for
    /// the last writes once all are computed, and the country pass with its writes.
    private let computeTimer: Metrics.Timer
    private let writeWaitTimer: Metrics.Timer
    private let countryTimer: Metrics.Timer
    /// Changed cells from which a batch's province changes are written while the next provinces
    /// are computed, so PostgreSQL and the computation work at the same time. A batch with fewer
    /// writes once, after all its provinces.
    private let writeChunkCells: Int
    /// Provinces computed at once.
    private let computeTasks: Int

    private struct State {
        var provinces: [UnitCode: InMemoryCellStore] = [:]
        /// Provinces changed by the transaction in flight: stale if it fails.
        var touched: Set<UnitCode> = []
        /// The country's rows as of the last committed pass, if kept.
        var country: CountryCache?
        /// The country's rows as the transaction in flight wrote them: kept if it commits.
        var countryPending: CountryCache?
        /// The messages the transaction in flight wrote to the outbox: kept for the relay if it commits.
        var messagesPending: [OutboxMessage] = []
        var countryPolicy = CountryCachePolicy()
    }

    init(catalog: Catalog, source: String, topics: TopicNames, writeChunkCells: Int = defaultWriteChunkCells,
         computeTasks: Int = defaultComputeTasks, outboxMemory: OutboxMemory? = nil, logger: Logger) {
        self.outboxMemory = outboxMemory
        self.writeChunkCells = writeChunkCells
        self.computeTasks = computeTasks
        self.catalog = catalog
        self.check = ObservationCheck(catalog: catalog)
        self.repository = EngineRepository(catalog: catalog, logger: logger)
        self.provinceEngine = IncrementalComputation(catalog: catalog, deferredUnits: [.country])
        self.countryEngine = IncrementalComputation(catalog: catalog)
        self.logger = logger
        self.publication = IndicatorPublication(catalog: catalog, source: source, topic: topics.indicatorValues)
        self.observationsApplied = Counter(label: "dx_engine_observations_applied_total")
        self.indicatorChanges = Counter(label: "dx_engine_indicator_changes_total")
        self.provinceWrites = Counter(label: "dx_engine_province_writes_total")
        func phaseTimer(_ phase: String) -> Metrics.Timer {
            Metrics.Timer(label: "dx_engine_batch_phase_seconds", dimensions: [("phase", phase)])
        }
        self.computeTimer = phaseTimer("compute")
        self.writeWaitTimer = phaseTimer("write_wait")
        self.countryTimer = phaseTimer("country")
    }

    func apply(_ messages: [ConsumedMessage<ObservationBatch>], connection: PostgresConnection) async throws {
        // A province's batches are checked by the task that computes it.
        var provinceBatches: [UnitCode: [ObservationBatch]] = [:]
        var countryInputs: [ObservationInput] = []
        var order: [UnitCode] = []
        var observations = 0
        for message in messages {
            let batch = message.envelope.data
            observations += batch.observations.count
            if batch.province == .country {
                countryInputs += try check.inputs(of: batch)
            } else {
                if provinceBatches[batch.province] == nil { order.append(batch.province) }
                provinceBatches[batch.province, default: []].append(batch)
            }
        }

        // Each province's changed indicator values are published as its rows are written.
        let provinces = try await applyProvinces(order, provinceBatches, connection: connection)
        var published = provinces.published

        if !provinces.changes.deferred.isEmpty || !countryInputs.isEmpty {
            let start = DispatchTime.now()
            let country = try await countryPass(after: provinces.changes, topCells: provinces.topCells, inputs: countryInputs, connection: connection)
            let messages = try publication.messages(for: country.indicators)
            try await outbox.enqueue(messages, on: connection, logger: logger)
            notePending(messages)
            published += country.indicators.count
            countryTimer.recordInterval(since: start)
        }

        observationsApplied.increment(by: observations)
        indicatorChanges.increment(by: published)
    }

    static let defaultWriteChunkCells = 4_000
    static var defaultComputeTasks: Int { ProcessInfo.processInfo.activeProcessorCount }

    /// Checks and computes the batch's provinces in memory, up to `computeTasks` at once (their
    /// states are disjoint), and writes their changed rows and publishes their changed indicator values in
    /// chunks while the next are computed. The provinces not in memory are read first: the
    /// connection runs one statement at a time, and at most one write is in flight on it.
    /// Returns what the country pass reads of the changes, and how many values were published.
    private func applyProvinces(_ order: [UnitCode], _ batches: [UnitCode: [ObservationBatch]],
                                connection: PostgresConnection) async throws -> (changes: IncrementalComputation.Changes, topCells: [CellKey: CellState?],
                                                                                 published: Int) {
        var stores: [(province: UnitCode, store: StoreHandoff)] = []
        stores.reserveCapacity(order.count)
        for province in order {
            if let cached = takeCachedProvince(province) {
                stores.append((province, StoreHandoff(cached)))
            } else {
                let store = try await repository.loadProvince(province, on: connection)
                logger.debug("loaded province state", metadata: ["province": "\(province)", "cells": "\(store.cellCount)"])
                stores.append((province, StoreHandoff(store)))
            }
        }
        let (engine, repository, units, publication, outbox, check, logger) = (provinceEngine, self.repository, catalog.units, publication, outbox, check, logger)
        let start = DispatchTime.now()
        var computed: DispatchTime?
        defer {
            if let computed {
                computeTimer.recordNanoseconds(computed.uptimeNanoseconds - start.uptimeNanoseconds)
                writeWaitTimer.recordInterval(since: computed)
            }
        }
        return try await withThrowingTaskGroup(of: ProvinceStep.self) { group in
            var all = IncrementalComputation.Changes()
            var allTopCells: [CellKey: CellState?] = [:]
            var published = 0
            var next = stores.makeIterator()
            var computing = 0
            var writing = false
            var chunk = ProvinceWrite()
            var chunkCells = 0
            var chunks: [ProvinceWrite] = []
            // The provinces' computations hold the pool's threads (one per core) for tens of
            // milliseconds each; between its parts a computation yields, so the batch's write task,
            // whose every statement resumes on the same pool, does not wait for a whole province.
            @Sendable func compute(_ province: UnitCode, _ handoff: StoreHandoff, _ batches: [ObservationBatch]) async throws -> ProvinceStep {
                var inputs: [ObservationInput] = []
                for batch in batches { inputs += try check.inputs(of: batch) }
                var store = handoff.take()
                let changes = engine.apply(inputs, to: &store)
                await Task.yield()
                // Taken from the store now: the next batch may change it while the rows are written.
                let rows = repository.rows(changed: changes, mirroredBy: &store)
                await Task.yield()
                let write = ProvinceWrite(rows: rows, messages: try publication.messages(for: changes.indicators))
                let (kept, topCells) = changes.keepingWhatTheBatchReads(units, from: store)
                return .computed(province: province, store: store, changes: kept, topCells: topCells,
                                 write: write, cells: changes.cells.count, published: changes.indicators.count)
            }
            /// Starts computing the next province, if any is left.
            @discardableResult func startNext() -> Bool {
                guard let (province, handoff) = next.next() else { return false }
                let provinceBatches = batches[province]!
                group.addTask { try await compute(province, handoff, provinceBatches) }
                computing += 1
                return true
            }
            while computing < computeTasks, startNext() {}
            while let step = try await group.next() {
                switch step {
                case .computed(let province, let store, let changes, let topCells, let write, let cells, let count):
                    computing -= 1
                    putProvince(province, store)
                    all.merge(changes)
                    allTopCells.merge(topCells) { _, new in new }
                    chunk.append(write)
                    chunkCells += cells
                    published += count
                    startNext()
                    if computing == 0 { computed = .now() }
                    if chunkCells >= writeChunkCells || (computing == 0 && !chunk.isEmpty) {
                        chunks.append(chunk)
                        chunk = ProvinceWrite()
                        chunkCells = 0
                    }
                case .written:
                    writing = false
                }
                if !writing, !chunks.isEmpty {
                    let write = chunks.removeFirst()
                    writing = true
                    provinceWrites.increment()
                    notePending(write.messages)
                    group.addTask {
                        try await repository.write(write.rows, on: connection)
                        try await outbox.enqueue(write.messages, on: connection, logger: logger)
                        return .written
                    }
                }
            }
            return (all, allTopCells, published)
        }
    }

    /// What provinces' computations write: their changed rows and their indicator-value messages.
    private struct ProvinceWrite: Sendable {
        var rows = UnitPeriodRows()
        var messages: [OutboxMessage] = []

        var isEmpty: Bool { rows.isEmpty && messages.isEmpty }

        mutating func append(_ other: ProvinceWrite) {
            rows.append(other.rows)
            messages += other.messages
        }
    }

    /// Hands a province's state to the task that computes it with no other reference left behind,
    /// so the computation changes it in place instead of copying every cell first.
    private final class StoreHandoff: @unchecked Sendable {
        // Set once, taken once, by the one task the handoff is given to.
        private var store: InMemoryCellStore?

        init(_ store: consuming InMemoryCellStore) { self.store = store }

        func take() -> InMemoryCellStore { store.take()! }
    }

    /// What a task of `applyProvinces` hands back.
    private enum ProvinceStep: Sendable {
        case computed(province: UnitCode, store: InMemoryCellStore, changes: IncrementalComputation.Changes,
                      topCells: [CellKey: CellState?], write: ProvinceWrite, cells: Int, published: Int)
        case written
    }

    /// The province's state kept in memory, if any, marked as changed by the transaction in flight.
    private func takeCachedProvince(_ province: UnitCode) -> InMemoryCellStore? {
        state.withLock { state in
            state.touched.insert(province)
            return state.provinces.removeValue(forKey: province)
        }
    }

    private func putProvince(_ province: UnitCode, _ store: InMemoryCellStore) {
        state.withLock { $0.provinces[province] = store }
    }

    /// Messages written to the outbox by the transaction in flight, for the relay if it commits.
    private func notePending(_ messages: [OutboxMessage]) {
        guard outboxMemory != nil, !messages.isEmpty else { return }
        state.withLock { $0.messagesPending += messages }
    }

    /// The country's cells: shared by all partitions, so recomputed from the provinces' values
    /// (which include this transaction's writes, `provinces`) under a transaction-level lock.
    private func countryPass(after provinces: IncrementalComputation.Changes, topCells: [CellKey: CellState?], inputs: [ObservationInput],
                             connection: PostgresConnection) async throws -> IncrementalComputation.Changes {
        try await connection.query("SELECT pg_advisory_xact_lock(hashtext('engine.country'))", logger: logger)
        let version = try await repository.bumpCountryVersion(on: connection)
        let (cached, loadWhole) = state.withLock { state -> (InMemoryCellStore?, Bool) in
            // Taken out: what this pass makes of it is kept only if the transaction commits.
            if let cached = state.country.take() {
                if cached.version == version { return (cached.store, false) }
                state.countryPolicy.foundStale()
            }
            return (nil, state.countryPolicy.loadWhole())
        }
        let keep = cached != nil || loadWhole
        var store: InMemoryCellStore
        // Consumed, so `store` is the only reference to the cached cells and is changed in place:
        // a second reference would make the first change copy every cell of the country state.
        if var cached = consume cached {
            // The copy is as of this process's last pass; the provinces' rows this batch wrote are newer.
            for (key, cell) in topCells { cached.setCell(key, cell) }
            store = consume cached
        } else if loadWhole {
            store = try await repository.loadCountryState(on: connection)
            logger.debug("loaded the country's state", metadata: ["cells": "\(store.cellCount)", "version": "\(version)"])
        } else {
            store = try await loadForOnePass(deferred: provinces.deferred, inputs: inputs, connection: connection)
        }
        var changes = countryEngine.apply(inputs, to: &store)
        changes.merge(countryEngine.recompute(nativeCells: provinces.deferred, in: &store))
        // Upserted: a store read for one pass was not read whole.
        try await repository.write(repository.rows(changed: changes, in: store), on: connection)
        if keep {
            let kept = CountryCache(store: store, version: version + 1)
            state.withLock { $0.countryPending = kept }
        }
        return changes
    }

    /// Only what one pass reads: the country's rows of the years its cells are in, and its
    /// children's rows at their periods.
    private func loadForOnePass(deferred: Set<CellKey>, inputs: [ObservationInput], connection: PostgresConnection) async throws -> InMemoryCellStore {
        let periods = Set(deferred.map(\.period)).union(inputs.map(\.key.period))
        return try await repository.loadCountry(years: Set(periods.map(\.year)), childPeriods: periods, on: connection)
    }

    func transactionFailed() async {
        state.withLock { state in
            for province in state.touched { state.provinces[province] = nil }
            state.touched.removeAll()
            state.country = nil
            state.countryPending = nil
            state.messagesPending = []
        }
    }

    func transactionCommitted() async {
        let committed = state.withLock { state in
            state.touched.removeAll()
            if let pending = state.countryPending {
                state.country = pending
                state.countryPending = nil
            }
            defer { state.messagesPending = [] }
            return state.messagesPending
        }
        outboxMemory?.keep(committed)
    }

    func partitionsAssigned(_ partitions: [KafkaTopicPartition]) async {
        // Another member may have changed these provinces meanwhile: start from PostgreSQL.
        state.withLock { $0.provinces.removeAll() }
    }

    func partitionsRevoked(_ partitions: [KafkaTopicPartition]) async {
        state.withLock { $0.provinces.removeAll() }
    }
}

private extension IncrementalComputation.Changes {
    /// A province's changes as the rest of the batch reads them once its rows and messages are
    /// made: the country's cells to recompute, and apart, the cells of units directly under the
    /// country with their states as `store` holds them, which the country's kept state takes in. Merging
    /// every cell of a batch instead cost about a tenth of dx-indicators' CPU in the national load.
    func keepingWhatTheBatchReads(_ units: UnitDirectory, from store: InMemoryCellStore) -> (changes: Self, topCells: [CellKey: CellState?]) {
        var kept = Self()
        var topCells: [CellKey: CellState?] = [:]
        kept.deferred = deferred
        // The depth first, an Int; a unit right under the country has depth 1 (0 if the country
        // were missing from the directory).
        for key in cells.keys where units.depth(of: key.unit) <= 1 && units.parent(of: key.unit) == .country {
            topCells[key] = store.cell(key)
        }
        kept.ignoredInputs = ignoredInputs
        kept.recomputations = recomputations
        return (kept, topCells)
    }
}
