@testable import DXKafka
import Testing

/// The hand-over between the consumer's poll thread and the code that processes its batches.
@Suite("BatchChannel")
struct BatchChannelTests {
    @Test("messages that arrive while a batch is processed come as the next batch together, in order, up to the maximum batch size")
    func mergesWhatArrivesWhileBusy() async {
        let channel = BatchChannel(capacity: 2, maximumBatchSize: 5)
        channel.send(messages(0..<1))
        #expect(offsets(await channel.next()) == [0])
        // While batch [0] is processed, four fetches bring one message each, then one brings two.
        for offset in 1...4 { channel.send(messages(offset..<offset + 1)) }
        channel.send(messages(5..<7))
        #expect(offsets(await channel.next()) == [1, 2, 3, 4], "the four single messages should wait as one batch")
        #expect(offsets(await channel.next()) == [5, 6], "a batch should not grow past the maximum batch size")
        channel.finish()
        #expect(await channel.next() == nil)
    }

    private func messages(_ offsets: Range<Int>) -> [KafkaMessage] {
        offsets.map { KafkaMessage(topic: "t", partition: 0, offset: Int64($0), key: nil, value: [], timestampMilliseconds: nil) }
    }

    private func offsets(_ batch: [KafkaMessage]?) -> [Int64]? { batch?.map(\.offset) }
}
