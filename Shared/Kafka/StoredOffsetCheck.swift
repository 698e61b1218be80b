import CRdKafka
import Logging
import Synchronization

/// Recognises the message a stored offset follows, so the consumer knows whether the offset still
/// points into the log it was stored from.
public typealias KafkaMessageRecognizer = @Sendable (KafkaMessage) -> Bool

/// Makes sure a stored offset still points into the log it was stored from. A broker that lost a
/// topic's data, or a topic made anew (a Tansu that keeps its log in memory and restarted, next to a
/// PostgreSQL that kept our offsets), starts its log again at 0. Kafka answers a fetch past the
/// end with "offset out of range" and the consumer starts over by `auto.offset.reset`; Tansu answers
/// with nothing, and a consumer at its stored offset would wait in silence for the new log to grow
/// past it, then skip every message below it.
///
/// So a partition assigned at a stored offset is read from the message before it, the last one
/// applied, and that message must be the one the handler recognises. If it is, it is dropped (it
/// was applied) and reading goes on. If the log has no such message (its end, from the first fetch
/// answer, lies before it) or holds another one there, the log is a new one: every message in it is
/// one the consumer has not seen, so the partition is read from its beginning, with a warning.
/// Where the handler recognises nothing, only the log's end is checked.
final class StoredOffsetCheck: Sendable {
    private struct Pending {
        /// The stored offset, the next message to apply.
        var stored: Int64
        var recognize: KafkaMessageRecognizer?
        /// The cached log end when the partition was assigned: it may be left from an earlier
        /// assignment of the same partition, so a reading only counts once it differs.
        var logEndBefore: Int64
    }

    private let pending = Mutex<[KafkaTopicPartition: Pending]>([:])

    var isIdle: Bool { pending.withLock { $0.isEmpty } }

    /// A new assignment at these stored offsets; partitions assigned before are forgotten. Returns
    /// where to start each partition: one message earlier where the handler can recognise it.
    func assigned(at stored: [KafkaTopicPartition: Int64], recognizers: [KafkaTopicPartition: KafkaMessageRecognizer],
                  client: RDKafkaClient) -> [KafkaTopicPartition: Int64] {
        var fresh: [KafkaTopicPartition: Pending] = [:]
        var start = stored
        for (partition, offset) in stored where offset > 0 {
            let recognize = recognizers[partition]
            fresh[partition] = Pending(stored: offset, recognize: recognize, logEndBefore: cachedLogEnd(partition, client: client))
            if recognize != nil { start[partition] = offset - 1 }
        }
        pending.withLock { $0 = fresh }
        return start
    }

    func revoked(_ partitions: [KafkaTopicPartition]) {
        pending.withLock { pending in
            for partition in partitions { pending[partition] = nil }
        }
    }

    /// Checks the partitions of a freshly polled batch that still wait for their check, and returns
    /// the batch without the messages that must not be handed out: the already applied message a
    /// check recognised, and every message of a partition sent back to its beginning. Runs on the
    /// poll thread.
    func check(_ batch: [KafkaMessage], client: RDKafkaClient, logger: Logger) -> [KafkaMessage] {
        var newLogs: [(KafkaTopicPartition, stored: Int64, reason: String)] = []
        var appliedBefore: [KafkaTopicPartition: Int64] = [:]
        pending.withLock { pending in
            for message in batch {
                let partition = message.topicPartition
                guard let start = pending[partition] else { continue }
                pending[partition] = nil
                guard let recognize = start.recognize else { continue }
                if message.offset == start.stored - 1 && recognize(message) {
                    appliedBefore[partition] = message.offset
                } else {
                    newLogs.append((partition, start.stored, "offset \(message.offset) holds another message than the one applied last"))
                }
            }
            // Partitions with no message yet: the first fetch answer tells where the log ends.
            for (partition, start) in pending {
                let logEnd = cachedLogEnd(partition, client: client)
                guard logEnd >= 0, logEnd != start.logEndBefore else { continue }
                if logEnd < start.stored {
                    pending[partition] = nil
                    newLogs.append((partition, start.stored, "the log ends at \(logEnd)"))
                } else if start.recognize == nil {
                    pending[partition] = nil
                }
            }
        }
        var result = batch
        if !appliedBefore.isEmpty {
            result.removeAll { appliedBefore[$0.topicPartition] == $0.offset }
        }
        guard !newLogs.isEmpty else { return result }
        let sentBack = Set(newLogs.map(\.0))
        result.removeAll { sentBack.contains($0.topicPartition) }
        seekToBeginning(newLogs, client: client, logger: logger)
        return result
    }

    private func seekToBeginning(_ partitions: [(KafkaTopicPartition, stored: Int64, reason: String)], client: RDKafkaClient, logger: Logger) {
        guard let list = rd_kafka_topic_partition_list_new(Int32(partitions.count)) else { return }
        defer { rd_kafka_topic_partition_list_destroy(list) }
        for (partition, stored, reason) in partitions {
            logger.warning("stored offset does not point into this log: the broker lost this topic's data or the topic was created anew; reading the log from its beginning", metadata: [
                "partition": "\(partition)", "stored_offset": "\(stored)", "because": "\(reason)",
            ])
            rd_kafka_topic_partition_list_add(list, partition.topic, partition.partition)?.pointee.offset = Int64(RD_KAFKA_OFFSET_BEGINNING)
        }
        // A seek that fails is tried again at the next check, as a log end that says so.
        var failed: [KafkaTopicPartition] = []
        if let error = rd_kafka_seek_partitions(client.handle, list, 5000) {
            logger.error("seek to the beginning of the log failed; trying again: \(String(cString: rd_kafka_error_string(error)))")
            rd_kafka_error_destroy(error)
            failed = partitions.map(\.0)
        } else {
            for i in 0..<Int(list.pointee.cnt) where list.pointee.elems[i].err != RD_KAFKA_RESP_ERR_NO_ERROR {
                let element = list.pointee.elems[i]
                let partition = KafkaTopicPartition(topic: String(cString: element.topic), partition: element.partition)
                logger.error("seek to the beginning of the log failed; trying again: \(KafkaError(element.err, operation: "seek", topic: partition.topic, partition: partition.partition))")
                failed.append(partition)
            }
        }
        guard !failed.isEmpty else { return }
        pending.withLock { pending in
            for (partition, stored, _) in partitions where failed.contains(partition) {
                pending[partition] = Pending(stored: stored, recognize: nil, logEndBefore: -1)
            }
        }
    }
}

/// The partition's high watermark from the last fetch answer, or a negative number before any.
private func cachedLogEnd(_ partition: KafkaTopicPartition, client: RDKafkaClient) -> Int64 {
    var low: Int64 = 0
    var high: Int64 = -1
    guard rd_kafka_get_watermark_offsets(client.handle, partition.topic, partition.partition, &low, &high) == RD_KAFKA_RESP_ERR_NO_ERROR else { return -1 }
    return high
}
