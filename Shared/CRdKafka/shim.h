#ifndef DX_CRDKAFKA_SHIM_H
#define DX_CRDKAFKA_SHIM_H
#include <librdkafka/rdkafka.h>

/* rd_kafka_producev is variadic and so invisible to Swift; this fixed-arity wrapper copies key
   and value (RD_KAFKA_MSG_F_COPY) and attaches a per-message opaque for the delivery report. */
static inline rd_kafka_resp_err_t dx_rd_kafka_produce(rd_kafka_t *rk, const char *topic,
                                                      const void *key, size_t key_len,
                                                      const void *value, size_t value_len,
                                                      void *opaque) {
    return rd_kafka_producev(rk,
                             RD_KAFKA_V_TOPIC(topic),
                             RD_KAFKA_V_KEY(key, key_len),
                             RD_KAFKA_V_VALUE(value, value_len),
                             RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                             RD_KAFKA_V_OPAQUE(opaque),
                             RD_KAFKA_V_END);
}
#endif
