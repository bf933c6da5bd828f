# vmm_export_library(NAME name SYMBOLS file LIBS lib... [SOVERSION n])
#
# The installed form of a library made of several in-tree static libraries:
# one static archive and (with SOVERSION) one shared object that define
# exactly the symbols listed in SYMBOLS (one per line, '#' comments), so
# that no internal name of ours can collide with a name of the program
# that embeds us.
#
#   lib<name>.a   the static libraries linked into one relocatable object
#                 (ld -r), every global not listed made local (objcopy
#                 --keep-global-symbols), then archived.
#   lib<name>.so  the same static libraries, whole, behind a version script
#                 that exports the listed symbols only; SONAME
#                 lib<name>.so.<SOVERSION>.
#
# In-tree targets keep linking the plain static libraries (tests reach
# internals through them). Creates the targets <name>_export_static and,
# with SOVERSION, <name>_shared.
function(vmm_export_library)
  cmake_parse_arguments(E "" "NAME;SYMBOLS;SOVERSION" "LIBS" ${ARGN})
  set(dir ${CMAKE_CURRENT_BINARY_DIR}/export)
  set(archive ${dir}/lib${E_NAME}.a)
  set(object ${dir}/${E_NAME}-all.o)
  set(archives)
  foreach(l ${E_LIBS})
    list(APPEND archives $<TARGET_FILE:${l}>)
  endforeach()
  add_custom_command(OUTPUT ${archive}
    COMMAND ${CMAKE_COMMAND} -E make_directory ${dir}
    COMMAND ${CMAKE_LINKER} -r -o ${object} --whole-archive ${archives}
            --no-whole-archive
    COMMAND ${CMAKE_OBJCOPY} --keep-global-symbols=${E_SYMBOLS} ${object}
    COMMAND ${CMAKE_COMMAND} -E rm -f ${archive}
    COMMAND ${CMAKE_AR} rcs ${archive} ${object}
    DEPENDS ${E_LIBS} ${E_SYMBOLS}
    COMMENT "Linking lib${E_NAME}.a with its public symbols only"
    VERBATIM)
  add_custom_target(${E_NAME}_export_static ALL DEPENDS ${archive})
  set_property(TARGET ${E_NAME}_export_static PROPERTY ARCHIVE ${archive})

  if(DEFINED E_SOVERSION)
    # A version script with the same list: global: the names; local: *.
    file(STRINGS ${E_SYMBOLS} lines)
    set(script "{\n  global:\n")
    foreach(line ${lines})
      string(STRIP "${line}" line)
      if(line AND NOT line MATCHES "^#")
        string(APPEND script "    ${line};\n")
      endif()
    endforeach()
    string(APPEND script "  local:\n    *;\n};\n")
    set(map ${dir}/${E_NAME}.map)
    file(WRITE ${map} "${script}")
    # No sources of its own: every object of the static libraries, whole.
    file(WRITE ${dir}/${E_NAME}-empty.c "/* libvmm: see its static libraries */\n")
    add_library(${E_NAME}_shared SHARED ${dir}/${E_NAME}-empty.c)
    # The archives by file, not as targets: their own link interfaces
    # would pull them in a second time.
    target_link_libraries(${E_NAME}_shared PRIVATE
      -Wl,--whole-archive ${archives} -Wl,--no-whole-archive Threads::Threads)
    add_dependencies(${E_NAME}_shared ${E_LIBS})
    target_link_options(${E_NAME}_shared PRIVATE -Wl,--version-script=${map})
    if(NOT VMM_SANITIZE)
      # Everything it needs is inside or in libc (sanitizer runtimes come
      # from the program in a sanitized build).
      target_link_options(${E_NAME}_shared PRIVATE -Wl,--no-undefined)
    endif()
    set_target_properties(${E_NAME}_shared PROPERTIES
      OUTPUT_NAME ${E_NAME} VERSION ${PROJECT_VERSION}
      SOVERSION ${E_SOVERSION} LINK_DEPENDS ${map})
  endif()
endfunction()
