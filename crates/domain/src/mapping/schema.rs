//! What an org's describe says about an object and its fields, as the
//! mapping rules need it.

/// The kind of a Salesforce field (app reads it from describe's `type`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FieldKind {
    Text,
    TextArea,
    Email,
    Phone,
    Url,
    Picklist,
    MultiPicklist,
    Integer,
    Double,
    Currency,
    Percent,
    Boolean,
    Date,
    DateTime,
    Id,
    Reference,
    Other(String),
}

impl FieldKind {
    pub(crate) fn is_text(&self) -> bool {
        matches!(self, FieldKind::Text | FieldKind::TextArea)
    }

    pub(crate) fn is_number(&self) -> bool {
        matches!(self, FieldKind::Integer | FieldKind::Double | FieldKind::Currency | FieldKind::Percent)
    }

    pub fn label(&self) -> String {
        match self {
            FieldKind::Other(t) => t.clone(),
            other => format!("{other:?}").to_lowercase(),
        }
    }
}

/// What an org's describe says about one field, as the check needs it.
#[derive(Debug, Clone, PartialEq)]
pub struct FieldSchema {
    pub name: String,
    pub label: String,
    pub kind: FieldKind,
    pub length: u32,
    pub createable: bool,
    pub updateable: bool,
    pub nillable: bool,
    pub defaulted_on_create: bool,
    pub external_id: bool,
    pub id_lookup: bool,
    pub picklist_values: Vec<String>,
    pub restricted_picklist: bool,
    /// Whether a query may filter on it (a match looks records up by it).
    pub filterable: bool,
    /// A lookup's objects: which records its id may name.
    pub reference_to: Vec<String>,
}

impl FieldSchema {
    /// Salesforce refuses a create without it (`REQUIRED_FIELD_MISSING`).
    pub fn required_on_create(&self) -> bool {
        self.createable && !self.nillable && !self.defaulted_on_create && self.kind != FieldKind::Boolean
    }

    /// Text beyond a text field's length would be refused whole
    /// (`STRING_TOO_LONG`); keep what fits.
    pub fn keep_what_fits(&self, text: String) -> String {
        if self.kind.is_text() && self.length > 0 && text.chars().count() as u32 > self.length {
            text.chars().take(self.length as usize).collect()
        } else {
            text
        }
    }
}

#[cfg(test)]
impl FieldSchema {
    /// For tests: a field anyone may set on create and update, blank or
    /// not, that a query can filter on; each test changes what it needs.
    pub(crate) fn open(name: &str, kind: FieldKind, length: u32) -> FieldSchema {
        FieldSchema {
            name: name.into(),
            label: name.into(),
            kind,
            length,
            createable: true,
            updateable: true,
            nillable: true,
            defaulted_on_create: false,
            external_id: false,
            id_lookup: false,
            picklist_values: vec![],
            restricted_picklist: false,
            filterable: true,
            reference_to: vec![],
        }
    }
}

/// What an org's describe says about one object.
#[derive(Debug, Clone, PartialEq)]
pub struct ObjectSchema {
    pub name: String,
    pub label: String,
    /// The 3 characters every record id of the object starts with.
    pub key_prefix: Option<String>,
    pub createable: bool,
    pub updateable: bool,
    pub fields: Vec<FieldSchema>,
}

impl ObjectSchema {
    pub fn field(&self, name: &str) -> Option<&FieldSchema> {
        self.fields.iter().find(|f| f.name.eq_ignore_ascii_case(name))
    }

    /// "Contact.Email", as a person names a field.
    pub fn label_of(&self, field: &str) -> String {
        format!("{}.{field}", self.name)
    }
}

