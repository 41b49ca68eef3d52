-- Restaurants and their menus. A menu is replaced whole (MenuRevised carries the whole
-- menu), so its items are rows keyed by (restaurant, item id), kept in menu order.
CREATE TABLE restaurants (
    id         uuid        PRIMARY KEY,
    name       text        NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    delivers   boolean     NOT NULL DEFAULT true,
    created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE menu_items (
    restaurant_id uuid    NOT NULL REFERENCES restaurants (id) ON DELETE CASCADE,
    id            text    NOT NULL,
    position      integer NOT NULL,
    name          text    NOT NULL,
    price_cents   bigint  NOT NULL CHECK (price_cents >= 0),
    PRIMARY KEY (restaurant_id, id)
);
