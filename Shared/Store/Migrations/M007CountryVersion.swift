/// A version of the country's state in `engine`: the country pass of dx-indicators bumps it
/// under the lock `hashtext('engine.country')`, and so does every other writer of the country's
/// or the provinces' rows (`dx recompute --apply`). A dx-indicators that keeps the country's rows
/// in memory uses them only while the version is still the one it wrote last.
let m007CountryVersion = Migration(version: 7, name: "version of the country's state", sql: """
    CREATE TABLE engine.country_version (
        only_row boolean PRIMARY KEY DEFAULT true CHECK (only_row),
        version  bigint NOT NULL
    );
    INSERT INTO engine.country_version (version) VALUES (0);
    """)
