-- +goose Up
-- Reference entities. Customers and mailouts register values here
-- automatically; foreign keys make deleting a value still in use fail.
CREATE TABLE timezones (
    id   bigserial PRIMARY KEY,
    name text NOT NULL UNIQUE CHECK (char_length(name) BETWEEN 1 AND 64)
);

CREATE TABLE phone_codes (
    id   bigserial PRIMARY KEY,
    code text NOT NULL UNIQUE CHECK (code ~ '^[0-9]{3}$')
);

CREATE TABLE tags (
    id   bigserial PRIMARY KEY,
    name text NOT NULL UNIQUE CHECK (char_length(name) BETWEEN 1 AND 64)
);

CREATE TABLE customers (
    id         bigserial PRIMARY KEY,
    -- "C" collation lets the unique index serve phone-prefix searches.
    phone      text COLLATE "C" NOT NULL UNIQUE CHECK (phone ~ '^7[0-9]{10}$'),
    phone_code text NOT NULL REFERENCES phone_codes (code),
    timezone   text NOT NULL REFERENCES timezones (name),
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX customers_phone_code_idx ON customers (phone_code, id);
CREATE INDEX customers_timezone_idx ON customers (timezone, id);

CREATE TABLE customer_tags (
    customer_id bigint NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
    tag_id      bigint NOT NULL REFERENCES tags (id),
    PRIMARY KEY (customer_id, tag_id)
);
-- Audience selection walks a tag's customers in id order.
CREATE INDEX customer_tags_tag_idx ON customer_tags (tag_id, customer_id);

CREATE TABLE mailouts (
    id           bigserial PRIMARY KEY,
    text         text NOT NULL CHECK (char_length(text) BETWEEN 1 AND 1600),
    start_at     timestamptz NOT NULL,
    end_at       timestamptz NOT NULL,
    -- Send window in customers' local time, minutes since midnight.
    window_start smallint CHECK (window_start BETWEEN 0 AND 1439),
    window_end   smallint CHECK (window_end BETWEEN 0 AND 1439),
    status       text NOT NULL DEFAULT 'scheduled'
                 CHECK (status IN ('scheduled', 'running', 'finished', 'cancelled')),
    version      bigint NOT NULL DEFAULT 1,
    started_at   timestamptz,
    finished_at  timestamptz,
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now(),
    CHECK (end_at > start_at),
    CHECK ((window_start IS NULL) = (window_end IS NULL)),
    CHECK (window_start IS DISTINCT FROM window_end OR window_start IS NULL)
);
CREATE INDEX mailouts_status_idx ON mailouts (status, id);
CREATE INDEX mailouts_due_idx ON mailouts (start_at) WHERE status = 'scheduled';

CREATE TABLE mailout_tags (
    mailout_id bigint NOT NULL REFERENCES mailouts (id) ON DELETE CASCADE,
    tag_id     bigint NOT NULL REFERENCES tags (id),
    PRIMARY KEY (mailout_id, tag_id)
);
CREATE INDEX mailout_tags_tag_idx ON mailout_tags (tag_id);

CREATE TABLE mailout_phone_codes (
    mailout_id    bigint NOT NULL REFERENCES mailouts (id) ON DELETE CASCADE,
    phone_code_id bigint NOT NULL REFERENCES phone_codes (id),
    PRIMARY KEY (mailout_id, phone_code_id)
);
CREATE INDEX mailout_phone_codes_code_idx ON mailout_phone_codes (phone_code_id);

-- Delivery records. customer_id has no foreign key on purpose: deleting a
-- customer must not erase the history the statistics are built from.
CREATE TABLE messages (
    id              bigserial PRIMARY KEY,
    mailout_id      bigint NOT NULL REFERENCES mailouts (id),
    customer_id     bigint NOT NULL,
    status          text NOT NULL DEFAULT 'pending'
                    CHECK (status IN ('pending', 'sending', 'sent', 'failed', 'expired', 'cancelled')),
    attempts        integer NOT NULL DEFAULT 0,
    last_error      text NOT NULL DEFAULT '',
    next_attempt_at timestamptz,
    sent_at         timestamptz,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    UNIQUE (mailout_id, customer_id)
);
CREATE INDEX messages_mailout_status_idx ON messages (mailout_id, status, id);
CREATE INDEX messages_customer_idx ON messages (customer_id, id);

-- Transactional outbox: events written with the change that caused them and
-- relayed to the broker afterwards.
CREATE TABLE outbox (
    id           bigserial PRIMARY KEY,
    topic        text NOT NULL,
    payload      jsonb NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    available_at timestamptz NOT NULL DEFAULT now(),
    published_at timestamptz,
    attempts     integer NOT NULL DEFAULT 0,
    last_error   text NOT NULL DEFAULT ''
);
CREATE INDEX outbox_unpublished_idx ON outbox (available_at, id) WHERE published_at IS NULL;

CREATE TABLE users (
    id            bigserial PRIMARY KEY,
    username      text NOT NULL UNIQUE CHECK (char_length(username) BETWEEN 1 AND 128),
    password_hash text NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now()
);

-- +goose Down
DROP TABLE users, outbox, messages, mailout_phone_codes, mailout_tags, mailouts,
    customer_tags, customers, tags, phone_codes, timezones;
