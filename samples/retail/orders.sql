-- The demo's source table: shop orders in PostgreSQL (loaded from orders.csv by `make demo`).
CREATE TABLE IF NOT EXISTS public.orders (
    order_id    bigint PRIMARY KEY,
    customer_id bigint NOT NULL,
    amount      numeric(12, 2) NOT NULL,
    currency    char(3) NOT NULL,
    status      text NOT NULL,
    order_ts    timestamptz NOT NULL,
    updated_at  timestamptz NOT NULL
);
