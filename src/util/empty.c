/* placeholder so an empty layer still forms a library */
typedef int tv_empty_translation_unit;
